// Helpers shared by this package's tests (not exported from the package): temp dirs that clean
// up after themselves and a synchronous argv runner for building fixtures with real tools.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

/**
 * Writes a small tree exercising what packing must get right: nested dirs, an executable, a
 * relative symlink, a hard link, names with spaces/newline/backslash/leading dash/non-ASCII, a
 * name over 100 bytes (pax header), a read-only dir, a sticky dir, a setuid file, a FIFO and (as
 * root) a character device. `order` reverses creation order to vary inode/readdir order.
 */
export function buildSampleTree(dir: string, order: 'forward' | 'reverse' = 'forward'): void {
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  const steps: (() => void)[] = [
    () => writeFileSync(join(dir, 'usr/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 }),
    () => writeFileSync(join(dir, 'data.txt'), 'x'.repeat(100_000)),
    () => writeFileSync(join(dir, 'weird name -> arrow'), 'a'),
    () => writeFileSync(join(dir, 'new\nline'), 'b'),
    () => writeFileSync(join(dir, 'back\\slash'), 'c'),
    () => writeFileSync(join(dir, '-C'), 'd'),
    () => writeFileSync(join(dir, 'caf\u00e9'), 'e'),
    () => writeFileSync(join(dir, 'L'.repeat(150)), 'long'),
    () => mkdirSync(join(dir, 'sticky'), { mode: 0o1777 }),
    () => writeFileSync(join(dir, 'suid'), 'f', { mode: 0o4755 }),
    () => mkfifoAt(join(dir, 'fifo')),
  ];
  if (order === 'reverse') steps.reverse();
  for (const s of steps) s();
  chmodSync(join(dir, 'sticky'), 0o1777);
  chmodSync(join(dir, 'suid'), 0o4755);
  symlinkSync('bin/tool', join(dir, 'usr/tool-link'));
  linkSync(join(dir, 'data.txt'), join(dir, 'usr/data-hardlink'));
  mkdirSync(join(dir, 'ro'));
  writeFileSync(join(dir, 'ro/inside'), 'g');
  chmodSync(join(dir, 'ro'), 0o555);
  if (process.getuid?.() === 0) x('mknod', [join(dir, 'null-dev'), 'c', '1', '3']);
}

function mkfifoAt(path: string): void {
  x('mkfifo', [path]);
}
