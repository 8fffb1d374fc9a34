// Packing normalises a runtime tree: what a build hook left world-writable, setuid/setgid or
// owned by a build user reaches no node. Real trees, real GNU tar; run as root to chown.
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExtractError, ExtractErrorCode } from './errors.js';
import { safeExtract } from './extract.js';
import { packTree } from './pack.js';
import { cleanupTemps, ls, tempDir, x } from './testing.js';
import { treeHash } from './tree-hash.js';

afterAll(cleanupTemps);

const root = process.getuid?.() === 0;

/** What a careless or hostile build leaves behind, under `dir/isolated`. */
function hostileTree(dir: string): void {
  const iso = join(dir, 'isolated');
  mkdirSync(join(iso, 'usr/lib'), { recursive: true });
  mkdirSync(join(iso, 'usr/bin'), { recursive: true });
  mkdirSync(join(iso, 'var/tmp/left'), { recursive: true });
  mkdirSync(join(iso, 'tmp/build-1'), { recursive: true });
  mkdirSync(join(iso, 'shared'));
  writeFileSync(join(dir, 'runtime.yml'), 'name: x\n', { mode: 0o644 });
  writeFileSync(join(iso, 'usr/lib/libevil.so'), 'ELF');
  writeFileSync(join(iso, 'usr/bin/su'), '#!/bin/sh\n');
  writeFileSync(join(iso, 'usr/bin/owned'), 'uid 1000');
  writeFileSync(join(iso, 'tmp/build-1/obj.o'), 'o');
  writeFileSync(join(iso, 'var/tmp/left/junk'), 'j');
  chmodSync(join(iso, 'usr/lib/libevil.so'), 0o666); // every job would load it
  chmodSync(join(iso, 'shared'), 0o777);
  chmodSync(join(iso, 'tmp'), 0o1777);
  chmodSync(join(iso, 'var/tmp'), 0o1777);
  chmodSync(join(iso, 'usr/bin/su'), 0o4755);
  if (root) chownSync(join(iso, 'usr/bin/owned'), 1000, 1000);
}

function listing(archive: string): string[] {
  return x('tar', ['-I', 'zstd', '-tvf', archive, '--numeric-owner', '--quoting-style=c'])
    .trim()
    .split('\n');
}

const modeOf = (lines: string[], name: string): string | undefined =>
  lines.find((l) => l.endsWith(`"${name}"`))?.slice(0, 10);

describe('packTree normalises a runtime tree', () => {
  const out = tempDir('norm-out');

  it('strips o+w and setuid, empties sticky scratch dirs as 0755, and owns everything 0:0', async () => {
    const src = tempDir('norm-src');
    hostileTree(src);
    const r = await packTree(src, join(out, 'n.tar.zst'));
    const lines = listing(join(out, 'n.tar.zst'));
    expect(modeOf(lines, 'isolated/usr/lib/libevil.so')).toBe('-rw-rw-r--');
    expect(modeOf(lines, 'isolated/shared/')).toBe('drwxrwxr-x');
    expect(modeOf(lines, 'isolated/usr/bin/su')).toBe('-rwxr-xr-x');
    expect(modeOf(lines, 'isolated/tmp/')).toBe('drwxr-xr-x');
    expect(modeOf(lines, 'isolated/var/tmp/')).toBe('drwxr-xr-x');
    expect(lines.filter((l) => /"isolated\/(var\/)?tmp\/[^"]/.test(l))).toEqual([]);
    expect(lines.every((l) => l.slice(11).startsWith('0/0 '))).toBe(true);
    expect(lines.every((l) => l.startsWith('l') || l[8] !== 'w')).toBe(true);

    const n = r.normalised!;
    expect(n.scratchDirs).toEqual({ count: 2, examples: ['isolated/tmp', 'isolated/var/tmp'] });
    expect(n.removedEntries).toBe(4); // tmp/build-1, its obj.o, var/tmp/left, its junk
    expect(n.worldWritable).toEqual({
      count: 2,
      examples: ['isolated/shared', 'isolated/usr/lib/libevil.so'],
    });
    expect(n.setid).toEqual({ count: 1, examples: ['isolated/usr/bin/su'] });
    if (root) expect(n.foreignOwner).toEqual({ count: 1, examples: ['isolated/usr/bin/owned'] });
    // The scratch dirs were emptied in the source tree itself; the rest is left to tar.
    expect(ls(join(src, 'isolated/tmp'))).toEqual([]);
    expect(statSync(join(src, 'isolated/tmp')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(src, 'isolated/usr/lib/libevil.so')).mode & 0o777).toBe(0o666);
  });

  it('is deterministic, and its tree hash is the installed tree’s', async () => {
    const a = tempDir('norm-a');
    const b = tempDir('norm-b');
    hostileTree(a);
    hostileTree(b);
    writeFileSync(join(b, 'isolated/tmp/other-junk'), 'different scratch contents');
    const ra = await packTree(a, join(out, 'a.tar.zst'));
    const rb = await packTree(b, join(out, 'b.tar.zst'));
    expect(rb.sha256).toBe(ra.sha256);
    expect(readFileSync(join(out, 'a.tar.zst')).equals(readFileSync(join(out, 'b.tar.zst')))).toBe(
      true,
    );
    const again = await packTree(a, join(out, 'a2.tar.zst'));
    expect(again.sha256).toBe(ra.sha256);

    // An agent's strict extraction accepts it and computes the same tree hash.
    const parent = tempDir('norm-install');
    const dest = join(parent, 'rt');
    const got = await safeExtract(join(out, 'a.tar.zst'), dest, {
      expectedSha256: ra.sha256,
      expectedTreeHash: ra.treeHash,
      symlinks: 'rooted',
    });
    expect(got.treeHash).toBe(ra.treeHash);
    expect(await treeHash(dest)).toBe(ra.treeHash);
    expect(statSync(join(dest, 'isolated/usr/lib/libevil.so')).mode & 0o7777).toBe(0o664);
    expect(statSync(join(dest, 'isolated/var/tmp')).mode & 0o7777).toBe(0o755);
  });

  it('normalise: false packs modes as they are, and strict extraction refuses that', async () => {
    const src = tempDir('norm-off');
    hostileTree(src);
    const copy = tempDir('norm-off-copy');
    cpSync(src, copy, { recursive: true });
    const raw = await packTree(src, join(out, 'raw.tar.zst'), { normalise: false });
    expect(raw.normalised).toBeUndefined();
    const lines = listing(join(out, 'raw.tar.zst'));
    expect(modeOf(lines, 'isolated/tmp/')).toBe('drwxrwxrwt');
    expect(modeOf(lines, 'isolated/usr/bin/su')).toBe('-rwxr-xr-x'); // setuid: stripped anyway
    const normal = await packTree(copy, join(out, 'normal.tar.zst'));
    expect(raw.treeHash).not.toBe(normal.treeHash);

    const parent = tempDir('norm-off-install');
    const err = await safeExtract(join(out, 'raw.tar.zst'), join(parent, 'rt')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExtractError);
    expect((err as ExtractError).code).toBe(ExtractErrorCode.UnsafeEntry);
    expect((err as ExtractError).entry).toBe('isolated/shared/');
    expect(ls(parent)).toEqual([]);
    // Trees that are not runtimes (base roots) are extracted with normalised: false.
    await safeExtract(join(out, 'raw.tar.zst'), join(parent, 'base'), { normalised: false });
    expect(statSync(join(parent, 'base/isolated/tmp')).mode & 0o7777).toBe(0o1777);
  });
});
