// Test helpers of @joblet/sandbox, exported as `@joblet/sandbox/testing` for the tests of the
// packages built on it: temp dirs that clean up after themselves and a synchronous argv runner
// for building fixtures with real tools.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINFMT_DIR } from './binfmt.js';
import { binfmtHandler } from './host-probe.js';

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

/**
 * Runs `fn` with the binfmt_misc handler `name` disabled when the host has it enabled
 * (binfmt-support registers QEMU's with qemu-user-static), so a test can see what a host without
 * it gets; the handler is never removed and is enabled again afterwards. Returns `fn`'s result and
 * whether the handler was enabled before.
 */
export async function withBinfmtHandlerDisabled<T>(
  name: string,
  fn: () => Promise<T>,
): Promise<{ result: T; wasEnabled: boolean }> {
  const wasEnabled = binfmtHandler(name)?.enabled === true;
  if (wasEnabled) writeFileSync(join(BINFMT_DIR, name), '0');
  try {
    return { result: await fn(), wasEnabled };
  } finally {
    if (wasEnabled) writeFileSync(join(BINFMT_DIR, name), '1');
  }
}
