/**
 * Pruning at packing time, on a real tree and a real archive: what the tar holds, that the tree
 * hash is that of the packed (pruned) tree, and that an extracted pruned tree verifies against it
 * as an agent checks it.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packTree, treeHash } from '@joblet/artifact';
import { cleanupTemps, tempDir, x } from '@joblet/artifact/testing';
import { pruneFilter } from './prune.js';

afterAll(cleanupTemps);

const FILES = [
  'isolated/usr/bin/python3',
  'isolated/usr/lib/python3.11/gettext.py',
  'isolated/usr/share/locale/de/LC_MESSAGES/python.mo',
  'isolated/usr/share/locale/locale.alias',
  'isolated/usr/share/doc/python3/copyright',
  'isolated/usr/share/doc/python3/changelog.Debian.gz',
  'isolated/usr/share/man/man1/python3.1.gz',
  'isolated/usr/share/info/dir',
  'isolated/usr/share/lintian/overrides/python3',
  'isolated/usr/share/python3/debian_defaults',
];

/** A runtime's packing directory: runtime.yml and `isolated/` with a bit of everything. */
function runtimeDir(): string {
  const dir = tempDir('prune');
  writeFileSync(join(dir, 'runtime.yml'), 'name: p\n');
  for (const f of FILES) {
    mkdirSync(join(dir, dirname(f)), { recursive: true });
    writeFileSync(join(dir, f), `content of ${f}\n`);
  }
  symlinkSync('python3', join(dir, 'isolated/usr/share/doc/libpython3.11'));
  return dir;
}

/** Regular files and symlinks the archive holds. */
function members(archive: string): string[] {
  return x('bash', ['-c', 'zstd -dc "$1" | tar -t', 'list', archive])
    .trim()
    .split('\n')
    .filter((m) => !m.endsWith('/'))
    .map((m) => m.replace(/^\.\//, ''))
    .sort();
}

describe('pruning the runtime at packing', () => {
  it('leaves out translations, docs but copyright, man, info and lintian overrides', async () => {
    const dir = runtimeDir();
    const out = join(tempDir('prune-out'), 'r.tar.zst');
    const packed = await packTree(dir, out, { filter: pruneFilter(undefined) });
    expect(members(out)).toEqual([
      'isolated/usr/bin/python3',
      'isolated/usr/lib/python3.11/gettext.py',
      'isolated/usr/share/doc/libpython3.11',
      'isolated/usr/share/doc/python3/copyright',
      'isolated/usr/share/python3/debian_defaults',
      'runtime.yml',
    ]);
    // The hash is that of what was packed, and an extracted copy verifies against it.
    expect(packed.treeHash).toBe(await treeHash(dir, { filter: pruneFilter(undefined) }));
    expect(packed.treeHash).not.toBe(await treeHash(dir));
    const extracted = tempDir('prune-extracted');
    x('bash', ['-c', 'zstd -dc "$1" | tar -x -C "$2"', 'extract', out, extracted]);
    expect(await treeHash(extracted)).toBe(packed.treeHash);
  });

  it('packs what prune.keep names, and everything with enabled: false', async () => {
    const dir = runtimeDir();
    const outDir = tempDir('prune-keep');
    const keep = pruneFilter({ keep: ['/usr/share/locale/de', '/usr/share/man'] });
    await packTree(dir, join(outDir, 'keep.tar.zst'), { filter: keep });
    const kept = members(join(outDir, 'keep.tar.zst'));
    expect(kept).toContain('isolated/usr/share/locale/de/LC_MESSAGES/python.mo');
    expect(kept).toContain('isolated/usr/share/man/man1/python3.1.gz');
    expect(kept).not.toContain('isolated/usr/share/locale/locale.alias');
    expect(kept).not.toContain('isolated/usr/share/info/dir');

    expect(pruneFilter({ enabled: false })).toBeUndefined();
    const all = await packTree(dir, join(outDir, 'all.tar.zst'));
    expect(members(join(outDir, 'all.tar.zst'))).toHaveLength(FILES.length + 2);
    expect(all.treeHash).toBe(await treeHash(dir));
  });
});
