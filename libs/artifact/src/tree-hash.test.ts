import {
  chmodSync,
  mkdirSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemps, tempDir, x } from './testing.js';
import { hashFile, treeHash } from './tree-hash.js';

afterAll(cleanupTemps);

function tree(): string {
  const d = tempDir('hash');
  mkdirSync(join(d, 'bin'));
  writeFileSync(join(d, 'bin/run'), 'run', { mode: 0o755 });
  writeFileSync(join(d, 'README'), 'readme');
  symlinkSync('bin/run', join(d, 'run'));
  return d;
}

describe('treeHash', () => {
  it('is stable across copies, mtimes and creation order', async () => {
    const a = tree();
    const b = tempDir('hash-b');
    symlinkSync('bin/run', join(b, 'run'));
    writeFileSync(join(b, 'README'), 'readme');
    mkdirSync(join(b, 'bin'));
    writeFileSync(join(b, 'bin/run'), 'run', { mode: 0o755 });
    utimesSync(join(b, 'README'), 12345, 12345);
    expect(await treeHash(b)).toBe(await treeHash(a));
    expect(await treeHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['content', (d: string) => writeFileSync(join(d, 'README'), 'README')],
    ['mode', (d: string) => chmodSync(join(d, 'README'), 0o600)],
    ['name', (d: string) => renameSync(join(d, 'README'), join(d, 'README.md'))],
    [
      'symlink target',
      (d: string) => (unlinkSync(join(d, 'run')), symlinkSync('./bin/run', join(d, 'run'))),
    ],
    ['an empty dir', (d: string) => mkdirSync(join(d, 'empty'))],
    [
      'file → symlink',
      (d: string) => (unlinkSync(join(d, 'README')), symlinkSync('readme', join(d, 'README'))),
    ],
  ])('changes with %s', async (_what, change) => {
    const d = tree();
    const before = await treeHash(d);
    change(d);
    expect(await treeHash(d)).not.toBe(before);
  });

  it('ignores what packing drops: FIFOs and setuid/setgid bits', async () => {
    const d = tree();
    const before = await treeHash(d);
    x('mkfifo', [join(d, 'fifo')]);
    chmodSync(join(d, 'bin/run'), 0o6755);
    expect(await treeHash(d)).toBe(before);
  });

  it('streams big files: hashFile agrees with sha256sum', async () => {
    const d = tempDir('hash-big');
    const big = join(d, 'big');
    writeFileSync(big, Buffer.alloc(5 * 1024 * 1024 + 17, 7));
    const expected = x('sha256sum', [big]).split(' ')[0];
    expect(await hashFile(big)).toEqual({ sha256: expected, size: 5 * 1024 * 1024 + 17 });
  });
});
