/**
 * `publish-runtime`, the parent of a build flow: runs once every arch child ended. Promotes each
 * arch's staged artifact to `runtimes/<name>/<version>/<arch>/` (archive, SBOMs, the provenance
 * statement as a DSSE envelope, then the manifest covering them all; both signed here with
 * WORKER_SIGNING_KEY_FILE: only publishing workers hold the key), writes the index entry and the build-key pointers, deletes the staging area, finishes the build and
 * announces `runtime.published`. Every step is idempotent, so a re-run after a crash ends in the
 * same state (and `runtime.published` / `done` are emitted once, see build-outcome.ts).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import {
  JOB_NAMES,
  PUBLISH_RUNTIME_JOB,
  appendEvent,
  defineHandler,
  type PublishJobData,
} from '@joblet/queue';
import { ArtifactManifest, withManifestSignatures } from '@joblet/artifact';
import {
  ArtifactInfo,
  type Arch,
  type BuildError,
  type BuildPointer,
  type FarmEvent,
  type IndexArch,
  type RuntimeIndexEntry,
} from '@joblet/spec';
import {
  buildPointerKey,
  indexKey,
  stagingArchiveKey,
  stagingManifestKey,
  withRetry,
} from '@joblet/storage';
import type { Logger } from '@joblet/logging';
import type { WorkerDeps } from './worker-deps.js';
import { archError, claimOnce, deleteStaging, finishBuild } from './build-outcome.js';
import { EventSink } from './event-sink.js';
import { promoteAttachments } from './publish-attachments.js';

export function publishRuntimeJob(deps: WorkerDeps) {
  return defineHandler(PUBLISH_RUNTIME_JOB, (job, data) => processPublish(deps, job, data));
}

async function processPublish(deps: WorkerDeps, job: Job, data: PublishJobData): Promise<unknown> {
  const { buildId } = data;
  const log = deps.log.child({ buildId, jobId: job.id, job: JOB_NAMES.publish });
  const sink = new EventSink(deps.redis, deps.keys.buildEvents(buildId), log);
  const meta = await deps.buildStore.getMeta(buildId);
  if (!meta) {
    log.warn('build record gone; nothing to publish');
    await deleteStaging(deps, buildId, log);
    return { state: 'gone' };
  }
  if (meta.final === 'canceled' || meta.final === 'failed') {
    await deleteStaging(deps, buildId, log);
    return { state: meta.final };
  }
  const artifacts = new Map<Arch, ArtifactInfo>();
  for (const value of Object.values(await job.getChildrenValues<unknown>())) {
    const parsed = ArtifactInfo.safeParse(value);
    if (parsed.success) artifacts.set(parsed.data.arch, parsed.data);
  }
  const missing = data.arches.filter((a) => !artifacts.has(a));
  if (artifacts.size === 0 || (missing.length > 0 && !data.allowPartial)) {
    const error = await firstArchError(deps, buildId, missing);
    log.info({ missing }, 'nothing to publish');
    await deleteStaging(deps, buildId, log);
    await finishBuild(deps, sink, buildId, 'failed', error);
    return { state: 'failed' };
  }
  try {
    const arches: Partial<Record<Arch, IndexArch>> = {};
    for (const [arch, artifact] of artifacts) {
      arches[arch] = await promoteArch(deps, buildId, artifact, log);
    }
    const first = Object.values(arches)[0]!.runtimeYml;
    const entry: RuntimeIndexEntry = {
      schema: 1,
      name: data.name,
      version: data.version,
      ...(first.description !== undefined ? { description: first.description } : {}),
      language: first.language,
      languageVersion: first.language_version,
      publishedAt: new Date().toISOString(),
      buildId,
      arches,
    };
    await withRetry(() => deps.store.putJson(indexKey(data.name, data.version), entry));
    for (const a of Object.values(arches)) {
      const pointer: BuildPointer = {
        name: data.name,
        version: data.version,
        arch: a.arch,
        manifestKey: a.manifestKey,
      };
      await withRetry(() => deps.store.putJson(buildPointerKey(a.buildKey), pointer));
    }
  } catch (err) {
    const error: BuildError = {
      code: 'STORE_FAILED',
      message: `publishing failed: ${(err as Error).message}`,
    };
    log.error({ err }, 'publishing failed');
    await deleteStaging(deps, buildId, log);
    await finishBuild(deps, sink, buildId, 'failed', error);
    throw new UnrecoverableError(`${error.code}: ${error.message}`);
  }
  await deleteStaging(deps, buildId, log);
  const published = [...artifacts.keys()];
  const finished = await deps.buildStore.finish(buildId, 'succeeded');
  if (await claimOnce(deps, buildId, 'published')) {
    const event: FarmEvent = {
      type: 'runtime.published',
      name: data.name,
      version: data.version,
      arches: published,
    };
    await appendEvent(deps.redis, deps.keys.farmEvents, event);
  }
  if (finished?.final !== 'succeeded') {
    // Canceled while the index was being written: the runtime is published all the same, and
    // the canceller already ended the build's event stream.
    log.warn({ final: finished?.final }, 'build ended elsewhere while it was published');
    return { state: finished?.final ?? 'gone', arches: published };
  }
  await finishBuild(deps, sink, buildId, 'succeeded');
  log.info({ name: data.name, version: data.version, arches: published }, 'runtime published');
  return { state: 'succeeded', arches: published };
}

/**
 * Copies one arch's staged archive to its final key (verified against the manifest's sha256)
 * and then writes the manifest there, signed with every key of WORKER_SIGNING_KEY_FILE. On a re-run whose staging area is already gone, the
 * final manifest (written last, so the archive is complete) is taken as done.
 */
async function promoteArch(
  deps: WorkerDeps,
  buildId: string,
  artifact: ArtifactInfo,
  log: Logger,
): Promise<IndexArch> {
  const staged = await withRetry(() =>
    deps.store.getJson<unknown>(stagingManifestKey(buildId, artifact.arch)),
  );
  let manifest: ArtifactManifest;
  if (staged !== undefined) {
    manifest = ArtifactManifest.parse(staged);
    if (manifest.sha256 !== artifact.sha256) {
      throw new Error(`staged ${artifact.arch} manifest does not match the build's result`);
    }
    await withRetry(() =>
      deps.store.copy(stagingArchiveKey(buildId, artifact.arch), artifact.archiveKey, {
        expectedSha256: manifest.sha256,
      }),
    );
    const keys = deps.config.signingKeys;
    if (keys.length === 0) {
      throw new Error(
        'this worker has no signing key (WORKER_SIGNING_KEY_FILE) and cannot publish',
      );
    }
    const attachments = await promoteAttachments(deps.store, buildId, manifest, keys);
    const signed = withManifestSignatures(
      { ...manifest, ...(attachments.length > 0 && { attachments }) },
      keys,
    );
    await withRetry(() => deps.store.putJson(artifact.manifestKey, signed));
    // The full key ids (sha256 of each public key's DER): what an agent's refusal names.
    log.info({ arch: artifact.arch, keyIds: keys.map((k) => k.keyId) }, 'manifest signed');
  } else {
    const done = ArtifactManifest.parse(
      await withRetry(() => deps.store.getJson<unknown>(artifact.manifestKey)),
    );
    if (done.sha256 !== artifact.sha256) {
      throw new Error(`the staged ${artifact.arch} artifact is gone and was never promoted`);
    }
    log.info({ arch: artifact.arch }, 'artifact already promoted (re-run)');
    manifest = done;
  }
  return { ...artifact, runtimeYml: manifest.runtimeYml };
}

async function firstArchError(
  deps: WorkerDeps,
  buildId: string,
  arches: Arch[],
): Promise<BuildError> {
  const record = await deps.buildStore.get(buildId);
  for (const a of arches) {
    const error = record?.archStatus[a]?.error;
    if (error) return archError(record?.arches ?? arches, a, error);
  }
  return {
    code: 'INTERNAL',
    message: `no artifact for ${arches.join(', ') || 'any architecture'}`,
  };
}
