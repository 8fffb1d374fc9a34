// Test helpers of @joblet/artifact, exported as `@joblet/artifact/testing`: a sample tree that
// exercises what packing must get right, plus the temp-dir and argv helpers of
// `@joblet/sandbox/testing` (re-exported so artifact tests need one import).
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { x } from '@joblet/sandbox/testing';

export { cleanupTemps, ls, tempDir, x } from '@joblet/sandbox/testing';

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
