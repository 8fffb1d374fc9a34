/**
 * Steps 10–11: pack `runtime.yml` + `isolated/` deterministically (tar | zstd, sha256, tree
 * hash) and upload archive then manifest (last) to the build's staging area. The publisher
 * promotes staging to `runtimes/` once every requested arch succeeded.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILDER_VERSION } from '@joblet/queue';
import { packTree, walkTree, type ArtifactManifest } from '@joblet/artifact';
import { serializeRuntimeYml, type ArtifactInfo, type RuntimeYml } from '@joblet/spec';
import {
  runtimeArchiveKey,
  runtimeManifestKey,
  stagingArchiveKey,
  stagingManifestKey,
  withRetry,
} from '@joblet/storage';
import { BuildFailure } from './build-failure.js';
import type { BuildContext } from './context.js';
import { mountReadOnlyOverlay } from './mounts.js';

export interface Packed {
  file: string;
  sha256: string;
  size: number;
  treeHash: string;
  treeBytes: number;
}

/**
 * Lays out `pkg/` (runtime.yml, and `isolated/` as a read-only overlay of the build's upper
 * layer over `lowers`, the language layer and base root: nothing can change the tree while it is
 * packed) and packs it.
 */
export async function packRuntime(
  ctx: BuildContext,
  lowers: string[],
  runtimeYml: RuntimeYml,
): Promise<Packed> {
  const { wd } = ctx;
  const isolated = join(wd.pkg, 'isolated');
  await mkdir(isolated, { recursive: true });
  await mountReadOnlyOverlay([wd.upper, ...lowers], isolated);
  await writeFile(join(wd.pkg, 'runtime.yml'), serializeRuntimeYml(runtimeYml), { mode: 0o644 });
  const file = join(wd.out, 'runtime.tar.zst');
  try {
    const packed = await packTree(wd.pkg, file, { signal: ctx.signal });
    const walk = await walkTree(wd.pkg);
    const treeBytes = walk.entries.reduce((sum, e) => sum + e.size, 0);
    ctx.report.system(
      `packed ${packed.files} entries, ${treeBytes} bytes into ${packed.bytes} bytes ` +
        `(sha256 ${packed.sha256})` +
        (packed.skipped.length > 0 ? `; left out ${packed.skipped.length} special files` : ''),
    );
    return {
      file,
      sha256: packed.sha256,
      size: packed.bytes,
      treeHash: packed.treeHash,
      treeBytes,
    };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new BuildFailure('INTERNAL', `packing the runtime failed: ${(err as Error).message}`, {
      retryable: true,
      cause: err,
    });
  }
}

/** Uploads archive then manifest to staging; returns the artifact with its FINAL keys. */
export async function uploadArtifact(
  ctx: BuildContext,
  packed: Packed,
  runtimeYml: RuntimeYml,
  builtAt: Date,
): Promise<ArtifactInfo> {
  const { job, spec, config, store } = ctx;
  const manifest: ArtifactManifest = {
    schema: 1,
    name: spec.name,
    version: spec.version,
    arch: config.arch,
    buildKey: job.buildKey,
    builderVersion: BUILDER_VERSION,
    sha256: packed.sha256,
    size: packed.size,
    treeHash: packed.treeHash,
    treeBytes: packed.treeBytes,
    builtAt: builtAt.toISOString(),
    runtimeYml,
  };
  const retry = {
    signal: ctx.signal,
    onRetry: (err: unknown, attempt: number) =>
      ctx.report.system(`store upload failed (${(err as Error).message}); retry ${attempt}`),
  };
  try {
    await withRetry(
      () =>
        store.put(stagingArchiveKey(job.buildId, config.arch), createReadStream(packed.file), {
          expectedSha256: packed.sha256,
          contentType: 'application/zstd',
        }),
      retry,
    );
    await withRetry(
      () => store.putJson(stagingManifestKey(job.buildId, config.arch), manifest),
      retry,
    );
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new BuildFailure(
      'STORE_FAILED',
      `upload to ${store.url} failed: ${(err as Error).message}`,
      {
        retryable: true,
        cause: err,
      },
    );
  }
  return {
    arch: config.arch,
    archiveKey: runtimeArchiveKey(spec.name, spec.version, config.arch),
    manifestKey: runtimeManifestKey(spec.name, spec.version, config.arch),
    sha256: packed.sha256,
    size: packed.size,
    treeHash: packed.treeHash,
    treeBytes: packed.treeBytes,
    buildKey: job.buildKey,
  };
}
