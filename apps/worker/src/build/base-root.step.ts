/**
 * Step 1: the base root file system of (suite, arch): the host's cache, else the object store's
 * `bases/` (verified by sha256), else `debootstrap --variant=minbase`, which is then uploaded so
 * other workers skip it. The sandbox library serializes all of this per (suite, arch) with a lock.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  ensureBaseRoot,
  packBaseRoot,
  shiftedBaseRoot,
  readBaseRoot,
  unpackBaseRoot,
  type BaseRoot,
  type BaseRootSpec,
} from '../base-root/index.js';
import { baseArchiveKey, baseManifestKey, withRetry } from '@joblet/storage';
import { BuildFailure } from './build-failure.js';
import type { BuildContext } from './context.js';

/** `bases/<distro>/<suite>/<arch>/manifest.json`, written after the archive. */
export const BaseManifest = z.object({
  schema: z.literal(1),
  distro: z.string(),
  suite: z.string(),
  arch: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  mirror: z.string(),
  createdAt: z.string(),
});
export type BaseManifest = z.infer<typeof BaseManifest>;

/** Largest base archive accepted from the store (bookworm minbase is ~41 MB). */
const MAX_BASE_BYTES = 2 * 1024 ** 3;

/**
 * The lower layer of rootless builds: the shifted copy of `base` for WORKER_BUILD_SUBID_BASE
 * (base-root/shifted.ts), made once per base root and range.
 */
export async function rootlessBaseRoot(ctx: BuildContext, base: BaseRoot): Promise<string> {
  const ids = ctx.config.buildSubids;
  try {
    return await shiftedBaseRoot(base, ids, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new BuildFailure(
      'INTERNAL',
      `cannot make the base root's copy for host ids ${ids.first}-${ids.first + ids.count - 1}: ${(err as Error).message}`,
      { retryable: true, cause: err },
    );
  }
}

export async function prepareBaseRoot(ctx: BuildContext): Promise<BaseRoot> {
  const { entry, config, report } = ctx;
  const spec: BaseRootSpec = {
    suite: entry.suite,
    arch: config.arch,
    mirror: ctx.mirror,
    cacheDir: config.cacheDir,
  };
  const local = await readBaseRoot(spec);
  if (local) {
    report.system(`base root ${entry.suite}/${config.arch}: cached on this host`);
    return local;
  }
  const fromStore = await fetchFromStore(ctx, spec);
  if (fromStore) return fromStore;

  report.system(`base root ${entry.suite}/${config.arch}: debootstrap from ${ctx.mirror}`);
  let base: BaseRoot;
  try {
    base = await ensureBaseRoot(spec, {
      signal: ctx.signal,
      onLine: (line) => report.output(line, 'stdout'),
    });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new BuildFailure(
      'BASE_ROOT_FAILED',
      `debootstrap of ${entry.suite}/${config.arch} failed: ${(err as Error).message}`,
      { retryable: true, cause: err },
    );
  }
  if (!base.cached) await uploadBase(ctx, base);
  return base;
}

async function fetchFromStore(
  ctx: BuildContext,
  spec: BaseRootSpec,
): Promise<BaseRoot | undefined> {
  const { entry, config, store, report } = ctx;
  const key = baseArchiveKey(entry.distro, entry.suite, config.arch);
  let manifest: BaseManifest | undefined;
  try {
    const raw = await store.getJson<unknown>(
      baseManifestKey(entry.distro, entry.suite, config.arch),
    );
    manifest = raw === undefined ? undefined : BaseManifest.parse(raw);
  } catch (err) {
    ctx.log.warn({ err }, 'cannot read base manifest from the store');
    return undefined;
  }
  if (!manifest) return undefined;
  if (manifest.size > MAX_BASE_BYTES) return undefined;
  report.system(`base root ${entry.suite}/${config.arch}: from the store (${key})`);
  try {
    const archive = await store.get(key);
    return await unpackBaseRoot(archive, spec, {
      expectedSha256: manifest.sha256,
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    report.system(`stored base root unusable (${(err as Error).message}); building it instead`);
    ctx.log.warn({ err, key }, 'stored base root unusable');
    return undefined;
  }
}

/** Best effort: a failed upload only means another worker debootstraps too. */
async function uploadBase(ctx: BuildContext, base: BaseRoot): Promise<void> {
  const { entry, config, store } = ctx;
  const file = join(ctx.wd.out, 'base.tar.zst');
  try {
    const packed = await packBaseRoot(base, file, { signal: ctx.signal });
    const size = (await stat(file)).size;
    await withRetry(
      () =>
        store.put(baseArchiveKey(entry.distro, entry.suite, config.arch), createReadStream(file), {
          expectedSha256: packed.sha256,
        }),
      { signal: ctx.signal },
    );
    const manifest: BaseManifest = {
      schema: 1,
      distro: entry.distro,
      suite: entry.suite,
      arch: config.arch,
      sha256: packed.sha256,
      size,
      mirror: base.meta.mirror,
      createdAt: base.meta.created,
    };
    await withRetry(
      () => store.putJson(baseManifestKey(entry.distro, entry.suite, config.arch), manifest),
      { signal: ctx.signal },
    );
    ctx.report.system(`uploaded base root ${entry.suite}/${config.arch} (${size} bytes)`);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.log.warn({ err }, 'cannot upload base root');
  } finally {
    await rm(file, { force: true });
  }
}
