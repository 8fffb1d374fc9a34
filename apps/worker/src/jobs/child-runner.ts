/**
 * Runs one build in a child process: `unshare --mount --propagation private -- node
 * build-child.js`, so every mount the build makes lives in a namespace that dies with the child
 * (even on SIGKILL), and the worker's event loop only relays messages (BullMQ lock renewal never
 * starves). The child gets its job and configuration over the IPC channel, never through its
 * environment, and runs in its own session so a Ctrl-C on the worker's terminal does not reach it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '@joblet/logging';
import { type ArtifactInfo, type BuildError } from '@joblet/spec';
import { ChildMessage, type StartMessage } from '../build/protocol.js';

/** How a build child ended. */
export type ChildOutcome =
  | { kind: 'result'; artifact: ArtifactInfo }
  | { kind: 'error'; error: BuildError; retryable: boolean }
  /** It exited (or was killed) without saying why. */
  | { kind: 'lost'; code: number | null; signal: NodeJS.Signals | null; stderrTail: string };

export type StopReason = 'cancel' | 'handback' | 'timeout' | 'abandon';

export interface ChildRun {
  readonly pid: number;
  readonly outcome: Promise<ChildOutcome>;
  /** Why it was stopped, if it was. */
  readonly stopReason: StopReason | undefined;
  /** SIGTERM (the child cleans up and exits), then SIGKILL after `graceMs`. */
  stop(reason: StopReason, graceMs?: number): void;
}

export interface ChildRunOptions {
  /** Path of the bundled build-child.js. */
  script: string;
  start: StartMessage;
  /** Progress messages (phase, log) as they arrive. */
  onMessage: (m: ChildMessage) => void;
  log: Logger;
}

/** Default time a child gets to clean up after SIGTERM before it is SIGKILLed (ms). */
export const DEFAULT_STOP_GRACE_MS = 20_000;

export function startBuildChild(opts: ChildRunOptions): ChildRun {
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', process.execPath, opts.script],
    {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
      // Nothing of the worker's environment: the child's secrets come over IPC.
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    },
  );
  let stopReason: StopReason | undefined;
  let final: ChildOutcome | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stderrTail: string[] = [];

  // The child logs pino JSON lines on stdout: pass them on as they are.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) process.stdout.write(`${line}\n`);
    else opts.log.info({ line }, 'build child output');
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
    opts.log.warn({ line }, 'build child stderr');
  });

  child.on('message', (raw) => {
    const parsed = ChildMessage.safeParse(raw);
    if (!parsed.success) {
      opts.log.warn({ issues: parsed.error.issues }, 'invalid message from build child');
      return;
    }
    const m = parsed.data;
    if (m.type === 'result') final ??= { kind: 'result', artifact: m.artifact };
    else if (m.type === 'error')
      final ??= { kind: 'error', error: m.error, retryable: m.retryable };
    else opts.onMessage(m);
  });

  const outcome = new Promise<ChildOutcome>((resolve) => {
    child.on('error', (err) => {
      opts.log.error({ err }, 'cannot start build child');
      resolve({ kind: 'lost', code: null, signal: null, stderrTail: err.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      resolve(final ?? { kind: 'lost', code, signal, stderrTail: stderrTail.join('\n') });
    });
  });

  child.send(opts.start, (err) => {
    if (err) opts.log.error({ err }, 'cannot send the job to the build child');
  });

  const signalChild = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, sig);
    } catch {
      // already gone
    }
  };

  return {
    pid: child.pid ?? -1,
    outcome,
    get stopReason() {
      return stopReason;
    },
    stop(reason, graceMs = DEFAULT_STOP_GRACE_MS) {
      if (stopReason !== undefined) return;
      stopReason = reason;
      signalChild('SIGTERM');
      killTimer = setTimeout(() => signalChild('SIGKILL'), graceMs);
      killTimer.unref();
    },
  };
}
