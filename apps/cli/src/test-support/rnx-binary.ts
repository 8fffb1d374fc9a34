/**
 * The CLI tests' way to run `rnx`: its real bundled binary (`bin/rnx.js`, built by `npm run build`)
 * in a child process with only the environment a test gives (plus PATH and NO_COLOR), never the
 * developer's own — and how it ended, whatever the exit code.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const RNX = fileURLToPath(new URL('../../bin/rnx.js', import.meta.url));

export interface RnxRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runRnx(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number } = {},
): Promise<RnxRun> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [RNX, ...args], {
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
      ...(opts.timeoutMs !== undefined && { timeout: opts.timeoutMs }),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `s` as one word for sh. */
const shellWord = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const rnxCommand = (args: readonly string[]) =>
  [process.execPath, RNX, ...args].map(shellWord).join(' ');

/**
 * Runs `rnx` with its stdout piped into `consumer`, a shell command (`head -1`, `grep -q x`) that
 * may close the pipe early; `code` is rnx's own exit code, `stdout` what the consumer printed.
 */
export async function runRnxPiped(
  args: readonly string[],
  consumer: string,
  env: NodeJS.ProcessEnv,
): Promise<RnxRun & { consumerCode: number }> {
  const script = `${rnxCommand(args)} | ${consumer}; echo "rc=\${PIPESTATUS[0]} \${PIPESTATUS[1]}" >&2`;
  const r = await exec('bash', ['-c', script], {
    env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
  }).catch((err: { stdout: string; stderr: string }) => err);
  const m = /rc=(\d+) (\d+)\n$/.exec(r.stderr);
  if (!m) throw new Error(`no exit codes from the pipeline: ${r.stderr}`);
  return {
    code: Number(m[1]),
    consumerCode: Number(m[2]),
    stdout: r.stdout,
    stderr: r.stderr.slice(0, m.index),
  };
}

/**
 * Runs `rnx` on a real terminal (a pty from util-linux `script`): stdin and stdout are TTYs, as
 * for a person; `input` is typed into it. The pty's output (stdout and stderr, CRLF → LF) is
 * `stdout`.
 */
export async function runRnxOnTty(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input = '',
): Promise<RnxRun> {
  const child = execFile('script', ['-qefc', rnxCommand(args), '/dev/null'], {
    env: { PATH: process.env.PATH, NO_COLOR: '1', TERM: 'dumb', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(input);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stdout: stdout.replace(/\r\n/g, '\n'), stderr };
}
