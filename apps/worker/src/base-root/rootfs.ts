// Base roots: one debootstrap --variant=minbase tree per (suite, arch[, extra packages]), cached
// on the host outside the repository, built once even when several builds ask at the same time,
// and visible only when complete (built in a temp dir, renamed into place under a lock).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { hostAptMirror } from './apt-sources.js';
import { RootfsError, RootfsErrorCode } from './errors.js';
import {
  packTree,
  removeTree,
  safeExtract,
  unmountUnder,
  type PackOptions,
  type PackResult,
} from '@joblet/artifact';
import {
  binfmtHandler,
  commandError,
  hostDebArch,
  qemuBinfmtName,
  run,
  succeeded,
  withFileLock,
  type RunResult,
} from '@joblet/sandbox';

/** Default cache directory for base roots: on the host, never inside the repository. */
export const DEFAULT_CACHE_DIR = '/var/cache/joblet-farm';
/** Mirror used when the host's apt sources name none. */
export const FALLBACK_MIRROR = 'http://deb.debian.org/debian';
/** A debootstrap is given this long before it is killed (ms): arm64 under QEMU takes ~90 s here. */
const DEFAULT_BUILD_TIMEOUT_MS = 30 * 60_000;

/** What to build. */
export interface BaseRootSpec {
  /** Debian suite, e.g. `bookworm`. */
  suite: string;
  /** Debian architecture, e.g. `amd64`, `arm64`. */
  arch: string;
  /** Default: the host's apt mirror ({@link hostAptMirror}), else {@link FALLBACK_MIRROR}. */
  mirror?: string;
  variant?: 'minbase';
  /** Extra packages installed by debootstrap; part of the cache key. */
  include?: string[];
  /** Default {@link DEFAULT_CACHE_DIR}. */
  cacheDir?: string;
}

/** Options of {@link ensureBaseRoot}. */
export interface EnsureBaseRootOptions {
  signal?: AbortSignal;
  /** Kill debootstrap after this many milliseconds. Default 30 minutes. */
  timeoutMs?: number;
  /** debootstrap's output, line by line. */
  onLine?: (line: string) => void;
}

/** `meta.json` next to a base root. */
export interface BaseRootMeta {
  schema: 1;
  suite: string;
  arch: string;
  variant: 'minbase';
  include: string[];
  mirror: string;
  /** ISO time the root was created. */
  created: string;
  /** e.g. `debootstrap 1.0.128+nmu2+deb12u2`. */
  debootstrapVersion: string;
  /** True when built with `--foreign` + `--second-stage` under QEMU. */
  foreign: boolean;
}

/** A ready base root. Treat `root` as read-only: builds mount it as an overlay's lower layer. */
export interface BaseRoot {
  /** `<cacheDir>/bases/<key>/root`. */
  root: string;
  /** `<cacheDir>/bases/<key>`. */
  dir: string;
  meta: BaseRootMeta;
  /** True when it was already there (no debootstrap ran). */
  cached: boolean;
}

function invalid(message: string): RootfsError {
  return new RootfsError(message, RootfsErrorCode.InvalidArgument);
}

/** Validates a spec: every part ends up in a path or on a command line. */
function normalize(
  spec: BaseRootSpec,
): Required<Omit<BaseRootSpec, 'mirror'>> & { mirror?: string } {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(spec.suite)) throw invalid(`invalid suite '${spec.suite}'`);
  if (!/^[a-z0-9]{2,16}$/.test(spec.arch)) throw invalid(`invalid architecture '${spec.arch}'`);
  const include = [...new Set(spec.include ?? [])].sort();
  for (const p of include) {
    if (!/^[a-z0-9][a-z0-9+.-]{0,99}$/.test(p)) throw invalid(`invalid package name '${p}'`);
  }
  if (spec.mirror !== undefined) {
    let url: URL;
    try {
      url = new URL(spec.mirror);
    } catch {
      throw invalid(`invalid mirror '${spec.mirror}'`);
    }
    if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
      throw invalid(`mirror must be http(s) or file, got '${spec.mirror}'`);
    }
  }
  return {
    suite: spec.suite,
    arch: spec.arch,
    variant: spec.variant ?? 'minbase',
    include,
    cacheDir: spec.cacheDir ?? DEFAULT_CACHE_DIR,
    ...(spec.mirror !== undefined ? { mirror: spec.mirror } : {}),
  };
}

/**
 * Cache directory of a base root: `<cacheDir>/bases/<suite>-<arch>`, plus `-<8 hex>` of the
 * sorted `include` list when there is one (a different package set is a different root).
 */
export function baseRootDir(spec: BaseRootSpec): string {
  const s = normalize(spec);
  const key =
    s.include.length === 0
      ? `${s.suite}-${s.arch}`
      : `${s.suite}-${s.arch}-${createHash('sha256').update(s.include.join(',')).digest('hex').slice(0, 8)}`;
  return join(s.cacheDir, 'bases', key);
}

/** The cached base root for `spec`, or undefined when there is none (yet). Never builds. */
export async function readBaseRoot(spec: BaseRootSpec): Promise<BaseRoot | undefined> {
  const dir = baseRootDir(spec);
  try {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as BaseRootMeta;
    if (
      (await stat(join(dir, 'root'))).isDirectory() &&
      meta.suite === spec.suite &&
      meta.arch === spec.arch
    ) {
      return { root: join(dir, 'root'), dir, meta, cached: true };
    }
  } catch {
    // missing or half-written: not ready
  }
  return undefined;
}

/**
 * Returns the base root for `spec`, building it with debootstrap if it is not cached yet:
 * `debootstrap --variant=minbase --arch=ARCH [--include=...] SUITE TMP MIRROR` in a temp dir
 * next to the target, or for a foreign architecture `--foreign` followed by
 * `chroot TMP /debootstrap/debootstrap --second-stage` (needs a QEMU binfmt_misc handler with
 * the F flag). Apt lists and downloaded .debs are removed, `meta.json` written, then the temp
 * dir is renamed to `root`. Concurrent callers on one host serialize on `<dir>/.lock`; the
 * ones that waited get the cached root.
 */
export async function ensureBaseRoot(
  spec: BaseRootSpec,
  opts: EnsureBaseRootOptions = {},
): Promise<BaseRoot> {
  const s = normalize(spec);
  const ready = await readBaseRoot(s);
  if (ready) return ready;
  const dir = baseRootDir(s);
  await mkdir(dir, { recursive: true });
  return withFileLock(
    join(dir, '.lock'),
    async () => {
      const again = await readBaseRoot(s);
      if (again) return again;
      await removeLeftovers(dir);
      const mirror = s.mirror ?? (await hostAptMirror({ arch: s.arch })) ?? FALLBACK_MIRROR;
      const tmp = join(dir, `.tmp-root-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        const meta = await debootstrap({ ...s, mirror }, tmp, opts);
        await stripCaches(tmp);
        await unmountUnder(tmp);
        await writeFile(join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
        await rename(tmp, join(dir, 'root'));
        return { root: join(dir, 'root'), dir, meta, cached: false };
      } catch (e) {
        await removeTree(tmp);
        throw e;
      }
    },
    { signal: opts.signal },
  );
}

/** Runs debootstrap (both stages for a foreign arch) into `tmp`. */
async function debootstrap(
  s: { suite: string; arch: string; include: string[]; mirror: string },
  tmp: string,
  opts: EnsureBaseRootOptions,
): Promise<BaseRootMeta> {
  const foreign = s.arch !== hostDebArch();
  if (foreign) {
    const name = qemuBinfmtName(s.arch);
    const h = binfmtHandler(name);
    if (!h?.enabled || !h.flags.includes('F')) {
      throw new RootfsError(
        `building ${s.arch} on ${hostDebArch()} needs the binfmt_misc handler ${name} with the F flag ` +
          `(/proc/sys/fs/binfmt_misc/${name}); install qemu-user-static and register it`,
        RootfsErrorCode.NoEmulation,
      );
    }
  }
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C',
    DEBIAN_FRONTEND: 'noninteractive',
  };
  const runOpts = {
    env,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
    onLine: opts.onLine ? (line: string) => opts.onLine?.(line) : undefined,
  };
  const version = (await run('debootstrap', ['--version'], { env })).stdout.trim();
  const first = await run(
    'debootstrap',
    [
      '--variant=minbase',
      `--arch=${s.arch}`,
      ...(s.include.length > 0 ? [`--include=${s.include.join(',')}`] : []),
      ...(foreign ? ['--foreign'] : []),
      s.suite,
      tmp,
      s.mirror,
    ],
    runOpts,
  );
  failUnless(first, 'debootstrap');
  if (foreign) {
    const second = await run(
      'chroot',
      [tmp, '/debootstrap/debootstrap', '--second-stage'],
      runOpts,
    );
    failUnless(second, 'debootstrap --second-stage');
  }
  return {
    schema: 1,
    suite: s.suite,
    arch: s.arch,
    variant: 'minbase',
    include: s.include,
    mirror: s.mirror,
    created: new Date().toISOString(),
    debootstrapVersion: version,
    foreign,
  };
}

function failUnless(r: RunResult, what: string): void {
  if (succeeded(r)) return;
  // debootstrap reports on stdout and keeps details in debootstrap/debootstrap.log; show both tails.
  const err = commandError({ ...r, stderr: `${r.stdout}\n${r.stderr}` });
  throw new RootfsError(`${what} failed: ${err.message}`, RootfsErrorCode.DebootstrapFailed, {
    cause: err,
  });
}

/** Package lists and downloaded .debs: large, stale by the next build, and refetched anyway. */
async function stripCaches(root: string): Promise<void> {
  const lists = join(root, 'var/lib/apt/lists');
  for (const name of await readdir(lists).catch(() => [])) {
    if (name !== 'partial' && name !== 'lock') await rm(join(lists, name), { force: true });
  }
  const archives = join(root, 'var/cache/apt/archives');
  for (const name of await readdir(archives).catch(() => [])) {
    if (name.endsWith('.deb')) await rm(join(archives, name), { force: true });
  }
  for (const name of ['pkgcache.bin', 'srcpkgcache.bin']) {
    await rm(join(root, 'var/cache/apt', name), { force: true });
  }
}

/**
 * Temp and staging dirs of builds or unpacks that died (we hold the lock, so nobody else is
 * using them), and a `root` without a readable meta.json (not ready, so not in use).
 */
async function removeLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith('.tmp-') || name.startsWith('..tmp-')) await removeTree(join(dir, name));
  }
  await removeTree(join(dir, 'root'));
}

/**
 * Packs a base root for the object store: `meta.json` and `root/` of its directory, with the
 * deterministic policy of {@link packTree} (root-owned, no device nodes, no setuid bits: builds
 * run in a sandbox that brings its own /dev and runs as root, so nothing they need is lost).
 * Not normalised like a runtime: the root is a live lower layer of builds (it must not be
 * changed in place), it keeps its world-writable `/tmp` for them, and archives of it made
 * before normalisation existed stay valid. Runtimes built on it are normalised when packed.
 */
export function packBaseRoot(
  base: BaseRoot,
  out: string | Writable,
  opts: PackOptions = {},
): Promise<PackResult> {
  return packTree(base.dir, out, {
    ...opts,
    normalise: false,
    filter: (rel) => rel === 'meta.json' || rel === 'root' || rel.startsWith('root/'),
  });
}

/**
 * Installs a base root from an archive made by {@link packBaseRoot} into the cache, verifying
 * its sha256 and every member (`rooted` symlink policy: Debian roots have absolute links).
 * Under the same lock as {@link ensureBaseRoot}; if the root appeared meanwhile, that one is
 * returned and the archive is not read.
 */
export async function unpackBaseRoot(
  archive: Readable | string,
  spec: BaseRootSpec,
  opts: { expectedSha256?: string; signal?: AbortSignal } = {},
): Promise<BaseRoot> {
  const s = normalize(spec);
  const dir = baseRootDir(s);
  await mkdir(dir, { recursive: true });
  return withFileLock(
    join(dir, '.lock'),
    async () => {
      const ready = await readBaseRoot(s);
      if (ready) return ready;
      await removeLeftovers(dir);
      const tmp = join(dir, `.tmp-unpack-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        await safeExtract(archive, tmp, { ...opts, symlinks: 'rooted', normalised: false });
        const meta = JSON.parse(await readFile(join(tmp, 'meta.json'), 'utf8')) as BaseRootMeta;
        if (meta.suite !== s.suite || meta.arch !== s.arch) {
          throw new RootfsError(
            `archive holds ${meta.suite}-${meta.arch}, expected ${s.suite}-${s.arch}`,
            RootfsErrorCode.BadArchive,
          );
        }
        await writeFile(join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
        await rename(join(tmp, 'root'), join(dir, 'root'));
        return { root: join(dir, 'root'), dir, meta, cached: false };
      } finally {
        await removeTree(tmp);
      }
    },
    { signal: opts.signal },
  );
}
