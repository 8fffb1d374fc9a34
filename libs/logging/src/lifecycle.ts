/**
 * The process lifecycle every app entry point shares (API, worker, agent): a configuration that
 * fails at once with exit 78, a start that fails with 78 (configuration) or 1 (anything else),
 * and one shutdown path.
 *
 * Shutdown contract — the first SIGTERM/SIGINT runs the caller's steps in the order given, each
 * awaited before the next: by convention 1. stop taking work, 2. drain what is in flight, 3. close
 * clients in reverse order of creation. Then the process exits 0 (1 when a step failed; the later
 * steps still run, so clients are closed even when a drain fails). A second signal exits at once
 * (130), and so does the deadline passing (1): `worker.close()` and friends have no timeout of
 * their own.
 */
import type { Logger } from 'pino';

/** sysexits.h `EX_CONFIG`: a bad configuration. Restarting will not help; the message says why. */
export const EX_CONFIG = 78;
/** Exit code when a second signal cuts a shutdown short (the shell's 128 + SIGINT). */
export const EX_INTERRUPTED = 130;

/**
 * Reads an app's configuration (its `env.ts` parser, whose error names the variable); on failure
 * writes the message to stderr — no logger exists yet — and exits {@link EX_CONFIG}.
 */
export function configOrExit<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(EX_CONFIG);
  }
}

/** An error class whose instances are configuration problems (exit 78), not crashes. */
export type ErrorClass = abstract new (...args: never[]) => Error;

export interface StartFailureOptions {
  /** What failed to start, for the log line: `api`, `worker`, `agent`. */
  app: string;
  /** Errors that mean "fix the configuration" (arch, Redis credentials, a file a variable names). */
  configErrors: readonly ErrorClass[];
  /** Fields logged with a configuration error (e.g. `{ arch }`). */
  fields?: Record<string, unknown>;
}

/**
 * Ends a start that threw: a configuration error is logged (with its `code`, if any), written to
 * stderr (its message says what to do) and exits {@link EX_CONFIG}; anything else is logged as a
 * crash and exits 1.
 */
export function exitOnStartFailure(log: Logger, err: unknown, opts: StartFailureOptions): never {
  if (err instanceof Error && opts.configErrors.some((c) => err instanceof c)) {
    const { code } = err as { code?: unknown };
    log.fatal({ ...(typeof code === 'string' && { code }), ...opts.fields }, err.message);
    process.stderr.write(`${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  log.fatal({ err }, `${opts.app} failed to start`);
  process.exit(1);
}

/** One step of a shutdown, named in the log when it fails. */
export interface ShutdownStep {
  name: string;
  run(): unknown;
}

export interface ShutdownOptions {
  log: Logger;
  /**
   * Milliseconds from the first signal until the process exits 1 whatever is still running. Give
   * the drain's own deadline plus a margin for closing.
   */
  deadlineMs: number;
  /** Run in this order, one after the other (see the module comment for the usual order). */
  steps: readonly ShutdownStep[];
  /** Fields for the `shutting down` line, read when the signal arrives (e.g. builds running). */
  status?: () => Record<string, unknown>;
  /** Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
}

export interface ShutdownHandle {
  /** Starts the shutdown as a signal would (e.g. when the app stops on its own); idempotent. */
  shutdown(reason: string): void;
}

/** Installs the one shutdown path of this process (see the module comment for the contract). */
export function onShutdown(opts: ShutdownOptions): ShutdownHandle {
  const { log } = opts;
  let stopping = false;
  const run = async (): Promise<number> => {
    let code = 0;
    for (const step of opts.steps) {
      try {
        await step.run();
      } catch (err) {
        code = 1;
        log.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    return code;
  };
  const shutdown = (reason: string): void => {
    if (stopping) {
      log.warn({ signal: reason }, 'second signal: exiting now');
      process.exit(EX_INTERRUPTED);
    }
    stopping = true;
    log.info({ signal: reason, ...opts.status?.() }, 'shutting down');
    // Unref'd: it must not keep alive a process that finished its steps.
    setTimeout(() => {
      log.error({ deadlineMs: opts.deadlineMs }, 'shutdown did not complete; exiting');
      process.exit(1);
    }, opts.deadlineMs).unref();
    void run().then((code) => process.exit(code));
  };
  for (const signal of opts.signals ?? ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => shutdown(signal));
  }
  return { shutdown };
}
