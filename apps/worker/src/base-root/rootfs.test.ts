import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RootfsError, RootfsErrorCode } from './errors.js';
import { treeHash } from '@joblet/artifact';
import { hasCommand, isRoot, binfmtHandler } from '@joblet/sandbox';
import { cleanupTemps, ls, tempDir } from '@joblet/sandbox/testing';
import {
  DEFAULT_CACHE_DIR,
  baseRootDir,
  ensureBaseRoot,
  packBaseRoot,
  readBaseRoot,
  unpackBaseRoot,
} from './rootfs.js';

afterAll(cleanupTemps);

const canDebootstrap = isRoot() && hasCommand('debootstrap', ['--version']);
const aarch64 = binfmtHandler('qemu-aarch64');
const QEMU_CONF = '/usr/lib/binfmt.d/qemu-aarch64.conf';
/** Registered already, or registrable here (root + qemu-user-static): the test registers it. */
const canArm64 =
  canDebootstrap && process.arch === 'x64' && (aarch64?.enabled === true || existsSync(QEMU_CONF));

/** Registers qemu-aarch64 (F flag) unless present; returns how to undo exactly that. */
function ensureAarch64Handler(): () => void {
  if (binfmtHandler('qemu-aarch64')?.enabled) return () => undefined;
  if (!existsSync('/proc/sys/fs/binfmt_misc/register')) {
    execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc']);
  }
  const line = readFileSync(QEMU_CONF, 'utf8').trim();
  writeFileSync('/proc/sys/fs/binfmt_misc/register', line.endsWith('F') ? line : `${line}F`);
  return () => writeFileSync('/proc/sys/fs/binfmt_misc/qemu-aarch64', '-1');
}

describe('base root spec validation', () => {
  it.each([
    [{ suite: 'bookworm; rm -rf /', arch: 'amd64' }, "invalid suite 'bookworm; rm -rf /'"],
    [{ suite: 'bookworm', arch: '../x' }, "invalid architecture '../x'"],
    [{ suite: 'bookworm', arch: 'amd64', include: ['--foo'] }, "invalid package name '--foo'"],
    [
      { suite: 'bookworm', arch: 'amd64', mirror: 'ftp://x/debian' },
      'mirror must be http(s) or file',
    ],
  ])('refuses %j', async (spec, message) => {
    const err = await ensureBaseRoot({ ...spec, cacheDir: tempDir('rootfs-invalid') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RootfsError);
    expect((err as RootfsError).code).toBe(RootfsErrorCode.InvalidArgument);
    expect((err as RootfsError).message).toContain(message);
  });

  it('keys the cache by suite, arch and package set', () => {
    expect(baseRootDir({ suite: 'bookworm', arch: 'amd64', cacheDir: '/c' })).toBe(
      '/c/bases/bookworm-amd64',
    );
    const a = baseRootDir({
      suite: 'bookworm',
      arch: 'amd64',
      cacheDir: '/c',
      include: ['b', 'a'],
    });
    expect(a).toMatch(/^\/c\/bases\/bookworm-amd64-[0-9a-f]{8}$/);
    expect(
      baseRootDir({ suite: 'bookworm', arch: 'amd64', cacheDir: '/c', include: ['a', 'b', 'a'] }),
    ).toBe(a);
  });

  it.skipIf(binfmtHandler('qemu-s390x') !== undefined)(
    'refuses a foreign arch without a QEMU handler, naming it [requires qemu-s390x NOT registered]',
    async () => {
      const err = await ensureBaseRoot({
        suite: 'bookworm',
        arch: 's390x',
        cacheDir: tempDir('rootfs-foreign'),
      }).catch((e: unknown) => e);
      expect((err as RootfsError).code).toBe(RootfsErrorCode.NoEmulation);
      expect((err as RootfsError).message).toContain('/proc/sys/fs/binfmt_misc/qemu-s390x');
    },
  );
});

describe.skipIf(!canDebootstrap)(
  'base roots with debootstrap [requires root and debootstrap]',
  () => {
    const spec = { suite: 'bookworm', arch: 'amd64', cacheDir: DEFAULT_CACHE_DIR };

    it(
      'builds bookworm amd64 once (concurrent callers share one build)',
      { timeout: 15 * 60_000 },
      async () => {
        const lines: string[] = [];
        const [a, b] = await Promise.all([
          ensureBaseRoot(spec, { onLine: (l) => lines.push(l) }),
          ensureBaseRoot(spec),
        ]);
        expect(a.root).toBe(join(DEFAULT_CACHE_DIR, 'bases/bookworm-amd64/root'));
        expect(b.root).toBe(a.root);
        expect(b.meta.created).toBe(a.meta.created);
        // At most one of them ran debootstrap; on a warm cache neither did.
        expect([a.cached, b.cached].filter((c) => !c).length).toBeLessThanOrEqual(1);
        if (!a.cached)
          expect(lines.some((l) => l.includes('Base system installed successfully'))).toBe(true);
        expect(statSync(join(a.root, 'usr/bin/dpkg')).isFile()).toBe(true);
        expect(readFileSync(join(a.root, 'etc/os-release'), 'utf8')).toContain('bookworm');
        expect(
          ls(join(a.root, 'var/lib/apt/lists')).filter((n) => n !== 'partial' && n !== 'lock'),
        ).toEqual([]);
        expect(
          ls(join(a.root, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb')),
        ).toEqual([]);
        expect(a.meta).toMatchObject({
          suite: 'bookworm',
          arch: 'amd64',
          variant: 'minbase',
          foreign: false,
        });
        expect(a.meta.debootstrapVersion).toMatch(/^debootstrap \d/);
        expect(JSON.parse(readFileSync(join(a.dir, 'meta.json'), 'utf8'))).toEqual(a.meta);
        // Beside it, the owner-shifted copies rootless builds use (shifted-<first id>).
        expect(ls(a.dir).filter((n) => !n.startsWith('shifted-'))).toEqual(['meta.json', 'root']);
      },
    );

    it('answers from the cache without running debootstrap', async () => {
      const before = await readBaseRoot(spec);
      const again = await ensureBaseRoot(spec);
      expect(again.cached).toBe(true);
      expect(again.meta.created).toBe(before?.meta.created);
    });

    it(
      'packs a base root and unpacks it into another cache with the same tree',
      { timeout: 300_000 },
      async () => {
        const base = await ensureBaseRoot(spec);
        const out = join(tempDir('base-pack'), 'bookworm-amd64.tar.zst');
        const packed = await packBaseRoot(base, out);
        expect(packed.skipped.every((s) => s.startsWith('root/dev/'))).toBe(true);
        const cacheDir = tempDir('base-cache');
        const other = { ...spec, cacheDir };
        const unpacked = await unpackBaseRoot(out, other, { expectedSha256: packed.sha256 });
        expect(unpacked).toMatchObject({ cached: false, meta: base.meta });
        expect(existsSync(join(unpacked.root, 'usr/bin/dpkg'))).toBe(true);
        expect(ls(unpacked.dir)).toEqual(['meta.json', 'root']);
        const filter = (rel: string): boolean =>
          rel === 'meta.json' || rel === 'root' || rel.startsWith('root/');
        expect(await treeHash(unpacked.dir, { filter })).toBe(packed.treeHash);
        expect((await readBaseRoot(other))?.root).toBe(unpacked.root);
        const wrong = await unpackBaseRoot(out, { suite: 'trixie', arch: 'amd64', cacheDir }).catch(
          (e: unknown) => e,
        );
        expect((wrong as RootfsError).code).toBe(RootfsErrorCode.BadArchive);
        expect(ls(join(cacheDir, 'bases/trixie-amd64'))).toEqual([]);
      },
    );

    it.skipIf(!canArm64)(
      'builds bookworm arm64 under QEMU [requires root, an amd64 host and qemu-user-static]',
      { timeout: 30 * 60_000 },
      async () => {
        const undo = ensureAarch64Handler();
        try {
          const arm = await ensureBaseRoot({
            suite: 'bookworm',
            arch: 'arm64',
            cacheDir: DEFAULT_CACHE_DIR,
          });
          expect(arm.meta.foreign).toBe(true);
          expect(existsSync(join(arm.root, 'usr/bin/dpkg'))).toBe(true);
          expect(existsSync(join(arm.root, 'debootstrap'))).toBe(false);
        } finally {
          undo();
        }
      },
    );
  },
);
