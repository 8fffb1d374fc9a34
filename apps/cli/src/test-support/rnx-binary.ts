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
