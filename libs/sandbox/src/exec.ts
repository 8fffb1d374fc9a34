// Child processes for the farm: always an argv array (never a shell string), always in their own
// process group so a timeout, an abort or the end of the leader kills helpers too.
import { spawn } from 'node:child_process';
import type { Duplex, Readable, Stream, Writable } from 'node:stream';
import { CommandError, CommandErrorCode } from './errors.js';
import { LineSplitter, TailBuffer, tailLines } from './output-capture.js';

/** Which output stream a line came from. */
export type OutputStreamName = 'stdout' | 'stderr';

/** Options of {@link spawnProcess} and {@link run}. */
export interface RunOptions {
  cwd?: string;
  /** Complete environment of the child (not merged with the parent's). Default: the parent's. */
  env?: NodeJS.ProcessEnv;
  /** Run the child as this uid/gid (root only). Node also drops supplementary groups. */
  uid?: number;
  gid?: number;
  /** Data written to the child's stdin, which is then closed. Default: stdin is /dev/null. */
  input?: string | Buffer | Readable;
  /**
   * Where stdin comes from when `input` is not given: `'pipe'` exposes `handle.stdin`; a stream
   * backed by a file descriptor (e.g. another child's stdout) is handed over without copying.
   */
  stdin?: 'ignore' | 'pipe' | 'inherit' | Stream | number;
  /**
   * `'capture'` (default) keeps a tail in the result; `'pipe'` exposes `handle.stdout` instead;
   * a stream backed by a file descriptor (e.g. another child's stdin) receives the output
   * directly, without passing through this process.
   */
  stdout?: 'capture' | 'pipe' | 'ignore' | 'inherit' | Stream | number;
  /** As `stdout`: `'pipe'` exposes `handle.stderr` (the caller must consume it). */
  stderr?: 'capture' | 'pipe' | 'ignore' | 'inherit';
  /** Cap per captured stream, in bytes; only the tail is kept. Default 1 MiB. */
  maxBufferBytes?: number;
  /** Called for every complete line of captured output, as it arrives. */
  onLine?: (line: string, stream: OutputStreamName) => void;
  /** Kill the process group after this many milliseconds. Default: no timeout. */
  timeoutMs?: number;
  /** Kill the process group when this fires. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL on timeout/abort, in milliseconds. Default 2000. */
  killGraceMs?: number;
  /**
   * SIGKILL what is left of the process group once the leader exits, so no helper outlives the
   * command. Default true.
   */
  killGroupOnExit?: boolean;
  /** Reject with {@link CommandError} unless the command exits 0. Default false. */
  check?: boolean;
  /**
   * This many more pipes, the child's fds 3, 4, ... (`handle.pipes`), e.g. bwrap's `--info-fd`
   * and `--block-fd`. Default 0.
   */
  extraPipes?: number;
}

/** How a process ended. */
export interface RunResult {
  /** `[cmd, ...args]`. */
  command: readonly string[];
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Captured tail of stdout ('' unless `stdout: 'capture'`). */
  stdout: string;
  /** Captured tail of stderr. */
  stderr: string;
  /** True when bytes were dropped from the front of stdout/stderr because of the cap. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

/** A started process. */
export interface ProcessHandle {
  readonly pid: number;
  /** Present when `stdin: 'pipe'`; errors such as EPIPE are swallowed (the result tells). */
  readonly stdin: Writable | null;
  /** Present when `stdout: 'pipe'`; the caller must consume it or the child blocks. */
  readonly stdout: Readable | null;
  /** Present when `stderr: 'pipe'`; likewise. */
  readonly stderr: Readable | null;
  /** The child's fds 3, 4, ... of `extraPipes` (empty without); the caller closes them. */
  readonly pipes: readonly Duplex[];
  /** Settles once the process has exited and its stdio is closed. */
  readonly result: Promise<RunResult>;
  /** Sends `signal` (default SIGKILL) to the whole process group. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `cmd` with `args` in a new process group (session) and returns at once.
 * The returned `result` never rejects for a non-zero exit unless `check` is set; it rejects with
 * a `SPAWN_FAILED` {@link CommandError} when the executable cannot be started.
 */
export function spawnProcess(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): ProcessHandle {
  const command = [cmd, ...args];
  const started = Date.now();
  const cap = opts.maxBufferBytes ?? 1024 * 1024;
  const stdoutMode = opts.stdout ?? 'capture';
  const stderrMode = opts.stderr ?? 'capture';
  const stdinMode = opts.input !== undefined ? 'pipe' : (opts.stdin ?? 'ignore');
  if (opts.signal?.aborted) return abortedBeforeStart(command, opts);

  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    uid: opts.uid,
    gid: opts.gid,
    // detached = setsid(): the child leads a new process group we can signal as a whole (-pid).
    detached: true,
    stdio: [
      stdinMode,
      stdoutMode === 'capture' ? 'pipe' : stdoutMode,
      stderrMode === 'capture' ? 'pipe' : stderrMode,
      ...Array<'pipe'>(opts.extraPipes ?? 0).fill('pipe'),
    ],
  });
  const pipes = child.stdio.slice(3) as Duplex[];
  // A pipe the child closes early (bwrap exiting before it reads --block-fd) fails our writes.
  for (const p of pipes) p.on('error', () => undefined);

  const out = new TailBuffer(stdoutMode === 'capture' ? cap : 0);
  const err = new TailBuffer(stderrMode === 'capture' ? cap : 0);
  const splitters = {
    stdout: opts.onLine ? new LineSplitter((l) => opts.onLine?.(l, 'stdout')) : undefined,
    stderr: opts.onLine ? new LineSplitter((l) => opts.onLine?.(l, 'stderr')) : undefined,
  };
  if (stdoutMode === 'capture') {
    child.stdout?.on('data', (c: Buffer) => {
      out.push(c);
      splitters.stdout?.push(c);
    });
  }
  if (stderrMode === 'capture') {
    child.stderr?.on('data', (c: Buffer) => {
      err.push(c);
      splitters.stderr?.push(c);
    });
  }
  // A child that exits without reading its stdin makes our writes fail with EPIPE; the exit
  // status is what matters, so the stream error must not crash the process.
  child.stdin?.on('error', () => undefined);

  const pid = child.pid;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };

  let timedOut = false;
  let aborted = false;
  let exited = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const terminate = (): void => {
    killGroup('SIGTERM');
    graceTimer ??= setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 2000);
  };
  const timeoutTimer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          terminate();
        }, opts.timeoutMs)
      : undefined;
  const onAbort = (): void => {
    aborted = true;
    terminate();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  child.on('exit', () => {
    exited = true;
    if (opts.killGroupOnExit ?? true) killGroup('SIGKILL');
  });

  const result = new Promise<RunResult>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (exited) return;
      cleanup();
      reject(
        new CommandError(
          `cannot start ${cmd}: ${e.message}`,
          CommandErrorCode.SpawnFailed,
          command,
          null,
          null,
          '',
          { cause: e },
        ),
      );
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      splitters.stdout?.flush();
      splitters.stderr?.flush();
      const res: RunResult = {
        command,
        code,
        signal,
        stdout: out.toString(),
        stderr: err.toString(),
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        timedOut,
        aborted,
        durationMs: Date.now() - started,
      };
      if (opts.check && !succeeded(res)) reject(commandError(res));
      else resolve(res);
    });
  });

  if (opts.input !== undefined && child.stdin) {
    const input = opts.input;
    if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
    else {
      input.on('error', () => child.stdin?.destroy());
      input.pipe(child.stdin);
    }
  }

  return {
    pid: pid ?? -1,
    stdin: stdinMode === 'pipe' ? child.stdin : null,
    stdout: stdoutMode === 'pipe' ? child.stdout : null,
    stderr: stderrMode === 'pipe' ? child.stderr : null,
    pipes,
    result,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => killGroup(signal),
  };
}

/**
 * Runs `cmd` with `args` to completion (see {@link RunOptions}) and returns how it ended.
 * @example
 * const r = await run('tar', ['--version'], { timeoutMs: 5_000, check: true });
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return spawnProcess(cmd, args, opts).result;
}

/** A handle for a command whose AbortSignal fired before it could start: nothing is spawned. */
function abortedBeforeStart(command: readonly string[], opts: RunOptions): ProcessHandle {
  const res: RunResult = {
    command,
    code: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    timedOut: false,
    aborted: true,
    durationMs: 0,
  };
  return {
    pid: -1,
    stdin: null,
    stdout: null,
    stderr: null,
    pipes: [],
    result: opts.check ? Promise.reject(commandError(res)) : Promise.resolve(res),
    kill: () => undefined,
  };
}

/** True when the process exited 0 on its own (no signal, timeout or abort). */
export function succeeded(r: RunResult): boolean {
  return r.code === 0 && !r.timedOut && !r.aborted;
}

/** Builds the {@link CommandError} describing a failed {@link RunResult}. */
export function commandError(r: RunResult): CommandError {
  const name = r.command.slice(0, 3).join(' ') + (r.command.length > 3 ? ' …' : '');
  const tail = tailLines(r.stderr);
  let code: CommandErrorCode = CommandErrorCode.Failed;
  let what: string;
  if (r.timedOut) {
    code = CommandErrorCode.TimedOut;
    what = `timed out after ${r.durationMs} ms`;
  } else if (r.aborted) {
    code = CommandErrorCode.Aborted;
    what = 'was aborted';
  } else if (r.signal) what = `was killed by ${r.signal}`;
  else what = `exited with code ${r.code}`;
  const message = tail ? `${name} ${what}: ${tail}` : `${name} ${what}`;
  return new CommandError(message, code, r.command, r.code, r.signal, r.stderr.slice(-4096));
}
