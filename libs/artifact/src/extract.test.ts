import {
  createReadStream,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ExtractError, ExtractErrorCode } from './errors.js';
import { cleanupStaging, safeExtract } from './extract.js';
import { packTree } from './pack.js';
import { buildSampleTree, cleanupTemps, ls, tempDir, x } from './testing.js';
import { treeHash } from './tree-hash.js';

afterAll(cleanupTemps);

const root = process.getuid?.() === 0;

/** Builds `<name>.tar.zst` with real GNU tar run in `cwd` with `tarArgs` (after `-cf x.tar`). */
function craft(dir: string, name: string, cwd: string, tarArgs: string[]): string {
  const tarFile = join(dir, `${name}.tar`);
  x('tar', ['-cf', tarFile, ...tarArgs], cwd);
  x('zstd', ['-q', '-f', '--rm', tarFile, '-o', `${tarFile}.zst`]);
  return `${tarFile}.zst`;
}

async function refusal(archive: string | Readable, opts = {}): Promise<ExtractError> {
  const parent = tempDir('extract-parent');
  mkdirSync(join(parent, 'outside'));
  const err = await safeExtract(archive, join(parent, 'dest'), opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ExtractError);
  // Nothing may be left or written next to the destination: no dest, no staging, no stray file.
  expect(ls(parent)).toEqual(['outside']);
  expect(ls(join(parent, 'outside'))).toEqual([]);
  return err as ExtractError;
}

describe('safeExtract', () => {
  const src = tempDir('extract-src');
  buildSampleTree(src);
  const work = tempDir('extract-work');
  const good = join(work, 'good.tar.zst');
  const packed = packTree(src, good);

  it('installs a packed tree atomically with the same tree hash', async () => {
    const p = await packed;
    const parent = tempDir('extract-ok');
    const dest = join(parent, 'python-3.11', '1.0.0');
    mkdirSync(join(parent, 'python-3.11'));
    const r = await safeExtract(good, dest, { expectedSha256: p.sha256, treeHash: true });
    expect(r).toMatchObject({
      sha256: p.sha256,
      bytes: p.bytes,
      treeHash: p.treeHash,
      files: p.files,
    });
    expect(ls(join(parent, 'python-3.11'))).toEqual(['1.0.0']);
    expect(statSync(dest).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(dest, 'usr/bin/tool'), 'utf8')).toContain('echo tool');
    expect(statSync(join(dest, 'usr/bin/tool')).mode & 0o777).toBe(0o755);
    expect(statSync(join(dest, 'ro')).mode & 0o777).toBe(0o555);
    expect(await treeHash(dest)).toBe(p.treeHash);
  });

  it('accepts a stream and verifies the expected tree hash', async () => {
    const p = await packed;
    const parent = tempDir('extract-stream');
    const r = await safeExtract(createReadStream(good), join(parent, 'd'), {
      expectedTreeHash: p.treeHash,
    });
    expect(r.treeHash).toBe(p.treeHash);
    const err = await refusal(good, { expectedTreeHash: '0'.repeat(64) });
    expect(err.code).toBe(ExtractErrorCode.TreeHashMismatch);
  });

  it('refuses a wrong checksum and a tampered archive', async () => {
    const p = await packed;
    expect((await refusal(good, { expectedSha256: 'f'.repeat(64) })).code).toBe(
      ExtractErrorCode.ChecksumMismatch,
    );
    const bytes = readFileSync(good);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const tampered = join(work, 'tampered.tar.zst');
    writeFileSync(tampered, bytes);
    const err = await refusal(tampered, { expectedSha256: p.sha256 });
    expect(err.code).toBe(ExtractErrorCode.ChecksumMismatch);
    expect((await refusal(tampered)).code).toBe(ExtractErrorCode.CorruptArchive);
  });

  it('refuses to replace an existing destination', async () => {
    await packed;
    const parent = tempDir('extract-exists');
    mkdirSync(join(parent, 'dest'));
    const err = await safeExtract(good, join(parent, 'dest')).catch((e: unknown) => e);
    expect((err as ExtractError).code).toBe(ExtractErrorCode.DestinationExists);
    expect(ls(parent)).toEqual(['dest']);
  });

  it('stops a zip bomb at maxBytes', async () => {
    const d = tempDir('bomb');
    writeFileSync(join(d, 'zeros'), Buffer.alloc(64 * 1024 * 1024));
    const bomb = craft(work, 'bomb', d, ['zeros']);
    expect(statSync(bomb).size).toBeLessThan(64 * 1024);
    const err = await refusal(bomb, { maxBytes: 8 * 1024 * 1024 });
    expect(err.code).toBe(ExtractErrorCode.TooLarge);
  });

  it('is aborted by its signal', async () => {
    await packed;
    const err = await refusal(good, { signal: AbortSignal.abort() });
    expect(err.code).toBe(ExtractErrorCode.Aborted);
  });

  it('reports a failing source stream as SOURCE_FAILED', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    const err = await refusal(broken);
    expect(err.code).toBe(ExtractErrorCode.SourceFailed);
  });
});

describe('safeExtract refuses crafted archives and writes nothing outside', () => {
  const work = tempDir('crafted');
  const d = tempDir('crafted-src');
  writeFileSync(join(d, 'f'), 'evil');
  const target = tempDir('crafted-target'); // a host directory attacks aim at

  it('an absolute path', async () => {
    const a = craft(work, 'abs', d, ['-P', `--transform=s,^f$,${target}/evil-abs,`, 'f']);
    const err = await refusal(a);
    expect(err.code).toBe(ExtractErrorCode.UnsafeEntry);
    expect(err.entry).toBe(`${target}/evil-abs`);
    expect(err.message).toContain('has an absolute path');
    expect(ls(target)).toEqual([]);
  });

  it("a '..' member", async () => {
    const a = craft(work, 'dotdot', d, ['-P', '--transform=s,^f$,../../evil-dotdot,', 'f']);
    const err = await refusal(a);
    expect(err.entry).toBe('../../evil-dotdot');
    expect(err.message).toContain("'..'");
  });

  it('a symlink to a host directory, then a file written through it', async () => {
    const s = tempDir('crafted-symlink');
    symlinkSync(target, join(s, 'lnk'));
    writeFileSync(join(s, 'f'), 'evil');
    const a = craft(work, 'through', s, ['lnk', '--transform=s,^f$,lnk/evil-through,', 'f']);
    const err = await refusal(a);
    expect(err.code).toBe(ExtractErrorCode.UnsafeEntry);
    expect(err.entry).toBe('lnk');
    expect(ls(target)).toEqual([]);
    // Even with absolute symlinks allowed (rooted policy), writing through one is refused.
    const err2 = await refusal(a, { symlinks: 'rooted' });
    expect(err2.entry).toBe('lnk/evil-through');
    expect(ls(target)).toEqual([]);
  });

  it('a relative symlink climbing out of the tree', async () => {
    const s = tempDir('crafted-up');
    mkdirSync(join(s, 'a'));
    symlinkSync('../../../../../../etc', join(s, 'a/up'));
    const err = await refusal(craft(work, 'up', s, ['a']), { symlinks: 'rooted' });
    expect(err.entry).toBe('a/up');
    expect(err.message).toContain('escapes the tree');
  });

  it('a symlink chain that only escapes when resolved on disk (caught by the tree check)', async () => {
    const s = tempDir('crafted-chain');
    mkdirSync(join(s, 'd1'));
    symlinkSync('..', join(s, 'd1/d2'));
    // Lexically d1/d2/../.. is the root; on disk d1/d2 is the root, so this is the root's parent.
    symlinkSync('d1/d2/../..', join(s, 'esc'));
    const err = await refusal(craft(work, 'chain', s, ['d1', 'esc']));
    expect(err.entry).toBe('esc');
    expect(err.message).toContain('escapes the tree');
  });

  it('a hard link to /etc/passwd', async () => {
    const s = tempDir('crafted-hl');
    writeFileSync(join(s, 'a'), 'x');
    linkSync(join(s, 'a'), join(s, 'b'));
    const before = statSync('/etc/passwd');
    // Rewrite only hard link targets (flags: not regular names, not symlinks).
    const a = craft(work, 'hardlink', s, ['-P', '--transform=s,^a$,/etc/passwd,RS', 'a', 'b']);
    expect(x('tar', ['-I', 'zstd', '-tvPf', a])).toMatch(/^h.* b link to \/etc\/passwd$/m);
    const err = await refusal(a);
    expect(err.entry).toBe('b');
    expect(err.message).toContain('hard link to an absolute path');
    const after = statSync('/etc/passwd');
    expect([after.nlink, after.mtimeMs, after.size]).toEqual([
      before.nlink,
      before.mtimeMs,
      before.size,
    ]);
  });

  it('a FIFO', async () => {
    const s = tempDir('crafted-fifo');
    x('mkfifo', [join(s, 'p')]);
    const err = await refusal(craft(work, 'fifo', s, ['p']));
    expect(err.message).toContain("'p': is a FIFO");
  });

  it.skipIf(!root)('a device node [requires root for mknod]', async () => {
    const s = tempDir('crafted-dev');
    x('mknod', [join(s, 'sda'), 'b', '8', '0']);
    x('mknod', [join(s, 'mem'), 'c', '1', '1']);
    const err = await refusal(craft(work, 'dev', s, ['mem', 'sda']));
    expect(err.message).toContain("'mem': is a character device");
  });

  it('a setuid binary', async () => {
    const s = tempDir('crafted-suid');
    writeFileSync(join(s, 'su'), 'x', { mode: 0o4755 });
    x('chmod', ['4755', join(s, 'su')]);
    const err = await refusal(craft(work, 'suid', s, ['su']));
    expect(err.message).toContain("'su': has the setuid bit");
  });

  it('a world-writable file or directory, or a member not owned by root', async () => {
    const s = tempDir('crafted-norm');
    writeFileSync(join(s, 'lib.so'), 'x');
    mkdirSync(join(s, 'scratch'));
    x('chmod', ['0666', join(s, 'lib.so')]);
    x('chmod', ['1777', join(s, 'scratch')]);
    writeFileSync(join(s, 'ok'), 'x');
    const ww = await refusal(craft(work, 'ww', s, ['--owner=0', '--group=0', 'lib.so']));
    expect(ww.code).toBe(ExtractErrorCode.UnsafeEntry);
    expect(ww.entry).toBe('lib.so');
    expect(ww.message).toBe("unsafe archive member 'lib.so': is writable by others (-rw-rw-rw-)");
    const tmp = await refusal(craft(work, 'tmp', s, ['--owner=0', '--group=0', 'scratch']));
    expect(tmp.message).toContain("'scratch/': is writable by others (drwxrwxrwt)");
    const owned = await refusal(craft(work, 'own', s, ['--owner=1000', '--group=0', 'ok']));
    expect(owned.message).toContain("'ok': is owned by 1000:0, not root (0:0)");
    const parent = tempDir('norm-off-ok');
    await safeExtract(craft(work, 'own2', s, ['--owner=1000', 'ok', 'lib.so']), join(parent, 'r'), {
      normalised: false,
    });
    expect(ls(join(parent, 'r'))).toEqual(['lib.so', 'ok']);
  });

  it('absolute symlinks: refused when contained, kept when rooted', async () => {
    const s = tempDir('crafted-rooted');
    mkdirSync(join(s, 'usr/bin'), { recursive: true });
    symlinkSync('/etc/alternatives/awk', join(s, 'usr/bin/awk'));
    const a = craft(work, 'rooted', s, ['usr']);
    expect((await refusal(a)).message).toContain('symlink to an absolute path');
    const parent = tempDir('rooted-ok');
    await safeExtract(a, join(parent, 'r'), { symlinks: 'rooted' });
    expect(ls(join(parent, 'r/usr/bin'))).toEqual(['awk']);
  });
});

describe('cleanupStaging', () => {
  it('removes staging dirs of dead processes only', async () => {
    const parent = tempDir('staging');
    mkdirSync(join(parent, '.rt.staging-999999999-abcd/sub'), { recursive: true });
    mkdirSync(join(parent, `.rt.staging-${process.pid}-beef`));
    mkdirSync(join(parent, 'rt'));
    expect(await cleanupStaging(parent)).toEqual(['.rt.staging-999999999-abcd']);
    expect(ls(parent)).toEqual([`.rt.staging-${process.pid}-beef`, 'rt']);
    expect(existsSync(join(parent, 'rt'))).toBe(true);
  });
});
