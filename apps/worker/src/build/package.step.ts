/**
 * Steps 10–11: pack `runtime.yml` + `isolated/` deterministically and normalised (tar | zstd,
 * sha256, tree hash; nothing writable by others, no setuid/setgid, all 0:0, scratch dirs empty)
 * and upload archive then manifest (last) to the build's staging area. The publisher promotes
 * staging to `runtimes/` once every requested arch succeeded.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILDER_VERSION } from '@joblet/queue';
import {
  ATTACHMENT_FILES,
  packTree,
  type ArtifactManifest,
  type ManifestAttachment,
  type NormaliseFinding,
  type NormaliseReport,
} from '@joblet/artifact';
import { serializeRuntimeYml, type ArtifactInfo, type RuntimeYml } from '@joblet/spec';
import {
  runtimeArchiveKey,
  runtimeManifestKey,
  stagingArchiveKey,
  stagingAttachmentKey,
  stagingManifestKey,
  withRetry,
} from '@joblet/storage';
import { createHash } from 'node:crypto';
import { STATEMENT_STAGING_FILE, type Attestations } from './attest.step.js';
import { BuildFailure } from './build-failure.js';
import type { BuildContext } from './context.js';
import { mountOverlay } from './mounts.js';
import { pruneFilter } from './prune.js';

export interface Packed {
  file: string;
  sha256: string;
  size: number;
  treeHash: string;
  treeBytes: number;
}

/**
 * Lays out `pkg/` (runtime.yml, and `isolated/` as an overlay of the build's upper layer over
 * `lowers`, the language layer and base root) and packs it, normalised. The overlay's own upper
 * layer (`wd.pkgUpper`) takes what normalising changes in place — scratch dirs such as `tmp`
 * emptied and made 0755 — so the build's layers and the shared base root stay as they are.
 * Nothing runs in the build any more, so nothing else changes the tree while it is packed.
 */
export async function packRuntime(
  ctx: BuildContext,
  lowers: string[],
  runtimeYml: RuntimeYml,
): Promise<Packed> {
  const { wd } = ctx;
  const isolated = join(wd.pkg, 'isolated');
  await mkdir(isolated, { recursive: true });
  await mountOverlay({
    lowers: [wd.upper, ...lowers],
    upper: wd.pkgUpper,
    work: wd.pkgWork,
    target: isolated,
  });
  await writeFile(join(wd.pkg, 'runtime.yml'), serializeRuntimeYml(runtimeYml), { mode: 0o644 });
  const file = join(wd.out, 'runtime.tar.zst');
  const filter = pruneFilter(ctx.spec.prune);
  try {
    const packed = await packTree(wd.pkg, file, {
      signal: ctx.signal,
      normalise: true,
      ...(filter && { filter }),
      // Made rootless: the range's first id is the tree's root (base-root/shifted.ts).
      rootId: ctx.config.buildSubids.first,
    });
    if (packed.normalised) ctx.report.system(describeNormalisation(packed.normalised));
    const { treeBytes } = packed;
    ctx.report.system(
      `packed ${packed.files} entries, ${treeBytes} bytes into ${packed.bytes} bytes ` +
        (filter ? '(translations, docs and manual pages left out) ' : '') +
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

/** The build-log line saying what normalising the runtime tree changed: counts, a few paths. */
export function describeNormalisation(n: NormaliseReport): string {
  const part = (what: string, f: NormaliseFinding): string[] =>
    f.count === 0
      ? []
      : [
          `${f.count} ${what} (${f.examples.join(', ')}${f.count > f.examples.length ? ', …' : ''})`,
        ];
  const parts = [
    ...part(
      `scratch dirs emptied (${n.removedEntries} entries) as 0755 mount points`,
      n.scratchDirs,
    ),
    ...part('world-writable entries packed without o+w', n.worldWritable),
    ...part('setuid/setgid entries packed without those bits', n.setid),
    ...part('entries of other owners packed as 0:0', n.foreignOwner),
  ];
  return `normalised the runtime tree: ${parts.length > 0 ? parts.join('; ') : 'nothing to change'}`;
}

/**
 * Uploads archive, SBOMs and the unsigned provenance statement, then the manifest (listing the
 * SBOMs' sha256) to staging; returns the artifact with its FINAL keys.
 */
export async function uploadArtifact(
  ctx: BuildContext,
  packed: Packed,
  runtimeYml: RuntimeYml,
  builtAt: Date,
  attestations: Attestations,
): Promise<ArtifactInfo> {
  const { job, spec, config, store } = ctx;
  const attachments: ManifestAttachment[] = attestations.sboms.map((a) => ({
    kind: a.kind,
    sha256: createHash('sha256').update(a.body).digest('hex'),
    size: a.body.length,
  }));
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
    attachments,
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
    for (const [i, a] of attestations.sboms.entries()) {
      const key = stagingAttachmentKey(job.buildId, config.arch, ATTACHMENT_FILES[a.kind]);
      const expectedSha256 = attachments[i]!.sha256;
      await withRetry(
        () => store.put(key, a.body, { expectedSha256, contentType: 'application/json' }),
        retry,
      );
    }
    const statementKey = stagingAttachmentKey(job.buildId, config.arch, STATEMENT_STAGING_FILE);
    await withRetry(
      () => store.put(statementKey, attestations.statement, { contentType: 'application/json' }),
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
