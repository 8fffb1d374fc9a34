// Test helpers of @joblet/sandbox, exported as `@joblet/sandbox/testing` for the tests of the
// packages built on it: temp dirs that clean up after themselves and a synchronous argv runner
// for building fixtures with real tools.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A fresh directory under the OS temp dir; removed by {@link cleanupTemps}. */
export function tempDir(prefix = 'sandbox-test'): string {
  const dir = mkdtempSync(join(tmpdir(), `joblet-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes every directory made by {@link tempDir}; call from `afterAll`. */
export async function cleanupTemps(): Promise<void> {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** Runs `cmd args` synchronously (argv, no shell), returns stdout; throws on failure. */
export function x(cmd: string, args: readonly string[], cwd?: string): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Names in `dir`, sorted. */
export function ls(dir: string): string[] {
  return readdirSync(dir).sort();
}
