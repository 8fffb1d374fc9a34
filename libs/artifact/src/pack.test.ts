import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { PackError, PackErrorCode } from './errors.js';
import { packTree } from './pack.js';
import { buildSampleTree, cleanupTemps, ls, tempDir, x } from './testing.js';
import { treeHash } from './tree-hash.js';

afterAll(cleanupTemps);

function listing(archive: string): string[] {
  const tarFile = `${archive}.tar`;
  x('zstd', ['-q', '-d', '-f', archive, '-o', tarFile]);
  return x('tar', ['-tvf', tarFile, '--numeric-owner', '--full-time', '--quoting-style=c'])
    .trim()
    .split('\n');
}

describe('packTree', () => {
  const a = tempDir('pack-a');
  const b = tempDir('pack-b');
  buildSampleTree(a, 'forward');
  buildSampleTree(b, 'reverse');
  // Different mtimes on the second copy must not matter.
  utimesSync(join(b, 'data.txt'), 1_000_000, 1_000_000);
  const out = tempDir('pack-out');

  it('packs the same tree twice to byte-identical archives', async () => {
    const r1 = await packTree(a, join(out, 'a1.tar.zst'));
    const r2 = await packTree(a, join(out, 'a2.tar.zst'));
    const bytes1 = readFileSync(join(out, 'a1.tar.zst'));
    expect(bytes1.equals(readFileSync(join(out, 'a2.tar.zst')))).toBe(true);
    // The first pack emptied the scratch dir in place; the second found nothing more to do.
    expect(r1.normalised?.scratchDirs.examples).toEqual(['sticky']);
    expect(r2.normalised?.scratchDirs.count).toBe(0);
    expect({ ...r1, normalised: undefined }).toEqual({ ...r2, normalised: undefined });
    expect(r1.sha256).toBe(createHash('sha256').update(bytes1).digest('hex'));
    expect(r1.bytes).toBe(bytes1.length);
    expect(ls(out)).toEqual(['a1.tar.zst', 'a2.tar.zst']);
  });

  it('gives the same archive for a copy made in another order with other mtimes', async () => {
    const ra = await packTree(a, join(out, 'order-a.tar.zst'));
    const rb = await packTree(b, join(out, 'order-b.tar.zst'));
    expect(rb.sha256).toBe(ra.sha256);
    expect(rb.treeHash).toBe(ra.treeHash);
  });

  it('writes deterministic members: root-owned, mtime 0, no specials, no setuid', async () => {
    const r = await packTree(a, join(out, 'm.tar.zst'));
    const lines = listing(join(out, 'm.tar.zst'));
    expect(lines.every((l) => l.includes(' 0/0 ') && l.includes('1970-01-01 00:00:00'))).toBe(true);
    expect(lines.some((l) => l.startsWith('p') || l.startsWith('c'))).toBe(false);
    expect(lines.find((l) => l.endsWith('"suid"'))).toMatch(/^-rwxr-xr-x /);
    // Normalised: the sticky world-writable dir is an empty 0755 mount point (it was 1777).
    expect(lines.find((l) => l.endsWith('"sticky/"'))).toMatch(/^drwxr-xr-x /);
    expect(lines.find((l) => l.includes('"usr/tool-link"'))).toMatch(/-> "bin\/tool"$/);
    expect(lines.find((l) => l.includes('"usr/data-hardlink"'))).toMatch(
      /^h.* link to "data.txt"$/,
    );
    for (const name of [
      '"new\\nline"',
      '"back\\\\slash"',
      '"-C"',
      '"caf\\303\\251"',
      `"${'L'.repeat(150)}"`,
    ]) {
      expect(lines.some((l) => l.endsWith(name))).toBe(true);
    }
    const expectedSkipped = ['fifo (fifo)'];
    if (process.getuid?.() === 0) expectedSkipped.unshift('null-dev (char-device)');
    expect(r.skipped.sort()).toEqual(expectedSkipped.sort());
    expect(r.files).toBe(lines.length);
  });

  it('uses sourceDateEpoch as every mtime and level changes only the compression', async () => {
    await packTree(a, join(out, 'e.tar.zst'), { sourceDateEpoch: 1_700_000_000, level: 19 });
    expect(listing(join(out, 'e.tar.zst')).every((l) => l.includes('2023-11-14 22:13:20'))).toBe(
      true,
    );
    const fast = await packTree(a, join(out, 'l1.tar.zst'), { level: 1 });
    const slow = await packTree(a, join(out, 'l19.tar.zst'), { level: 19 });
    expect(fast.sha256).not.toBe(slow.sha256);
    expect(fast.treeHash).toBe(slow.treeHash);
  });

  it('streams into a Writable with the same bytes as into a file', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const r = await packTree(a, sink);
    const f = await packTree(a, join(out, 'w.tar.zst'));
    expect(r.sha256).toBe(f.sha256);
    expect(Buffer.concat(chunks).equals(readFileSync(join(out, 'w.tar.zst')))).toBe(true);
  });

  it('round-trips through the zstd and tar CLIs to the same tree hash', async () => {
    const r = await packTree(a, join(out, 'rt.tar.zst'));
    const dest = tempDir('pack-rt');
    x('tar', ['-I', 'zstd', '-xpf', join(out, 'rt.tar.zst'), '-C', dest]);
    expect(await treeHash(dest)).toBe(r.treeHash);
    expect(statSync(join(dest, 'usr/bin/tool')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dest, 'new\nline'), 'utf8')).toBe('b');
  });

  it('refuses a missing source and leaves no partial output behind', async () => {
    const err = await packTree(join(a, 'missing'), join(out, 'no.tar.zst')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PackError);
    expect((err as PackError).code).toBe(PackErrorCode.BadSource);
    const before = ls(out);
    const err2 = await packTree(a, join(out, 'nodir', 'x.tar.zst')).catch((e: unknown) => e);
    expect((err2 as PackError).code).toBe(PackErrorCode.Failed);
    expect(ls(out)).toEqual(before);
  });

  it('fails with tar’s message when a file vanishes while packing', async () => {
    const d = tempDir('pack-vanish');
    writeFileSync(join(d, 'a'), 'a');
    writeFileSync(join(d, 'b'), 'b');
    // The filter runs after the walk has seen 'b': deleting it then makes tar miss a listed file.
    const filter = (rel: string): boolean => {
      if (rel === 'b') unlinkSync(join(d, 'b'));
      return true;
    };
    // Without normalisation: its tree pass would walk (and delete 'b') before tar starts.
    const err = await packTree(d, join(out, 'v.tar.zst'), { filter, normalise: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PackError);
    expect((err as PackError).code).toBe(PackErrorCode.Failed);
    expect((err as PackError).message).toMatch(/tar .*b: .*No such file or directory/);
    expect(ls(out)).not.toContain('v.tar.zst');
  });

  it('leaves out what the filter rejects, in the archive and the tree hash alike', async () => {
    const d = tempDir('pack-filter');
    mkdirSync(join(d, 'root/etc'), { recursive: true });
    writeFileSync(join(d, 'root/etc/os-release'), 'ID=debian\n');
    writeFileSync(join(d, 'meta.json'), '{}');
    writeFileSync(join(d, '.lock'), '123');
    symlinkSync('/etc', join(d, 'root/host-etc'));
    const filter = (rel: string): boolean => !rel.startsWith('.');
    const r = await packTree(d, join(out, 'f.tar.zst'), { filter });
    const names = listing(join(out, 'f.tar.zst')).map((l) => l.slice(l.indexOf('"')));
    expect(names).toEqual([
      '"meta.json"',
      '"root/"',
      '"root/etc/"',
      '"root/etc/os-release"',
      '"root/host-etc" -> "/etc"',
    ]);
    expect(r.treeHash).toBe(await treeHash(d, { filter }));
    expect(r.treeHash).not.toBe(await treeHash(d));
  });

  it('stops when aborted', async () => {
    const err = await packTree(a, join(out, 'ab.tar.zst'), { signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );
    expect((err as PackError).code).toBe(PackErrorCode.Aborted);
  });
});
