/**
 * Terminal outcomes of a build, shared by the build and publish jobs. The terminal `done` event
 * (and `runtime.published`) must appear once per build even when two arches fail at the same
 * moment or a publish job is re-run after a crash: each is claimed first with HSETNX on a field
 * of the build's hash (BuildStore ignores fields other than `meta` and `arch:*`, and the hash
 * expires with the build record).
 */
import { withRetry, stagingPrefix } from '@joblet/storage';
import { type BuildJobData } from '@joblet/queue';
import { type BuildError, type BuildEvent, type BuildState } from '@joblet/spec';
import type { Logger } from '@joblet/logging';
import type { WorkerDeps } from './worker-deps.js';
import type { EventSink } from './event-sink.js';

/** Claims the one-time emission of `what` for a build; true for exactly one caller. */
export async function claimOnce(
  deps: Pick<WorkerDeps, 'redis' | 'keys' | 'config'>,
  buildId: string,
  what: 'done' | 'published',
): Promise<boolean> {
  const n = await deps.redis.hsetnx(deps.keys.build(buildId), `once:${what}`, deps.config.name);
  return n === 1;
}

/** Deletes a build's staging area (best effort: a leftover is harmless, and logged). */
export async function deleteStaging(
  deps: Pick<WorkerDeps, 'store'>,
  buildId: string,
  log: Logger,
): Promise<void> {
  try {
    await withRetry(() => deps.store.deletePrefix(stagingPrefix(buildId)));
  } catch (err) {
    log.warn({ err, buildId }, 'cannot delete staging objects');
  }
}

/**
 * Ends a build: `BuildStore.finish` and, once per build, the terminal `done` event. Events
 * pushed to `sink` before are flushed first, so `done` is the last event of the stream.
 */
export async function finishBuild(
  deps: Pick<WorkerDeps, 'redis' | 'keys' | 'config' | 'buildStore'>,
  sink: EventSink,
  buildId: string,
  state: BuildState,
  error?: BuildError,
): Promise<void> {
  await sink.flush();
  await deps.buildStore.finish(buildId, state, error);
  if (await claimOnce(deps, buildId, 'done')) {
    sink.push({ type: 'done', state, ...(error ? { error } : {}) } satisfies BuildEvent);
    await sink.flush();
  }
}

/**
 * The final failure of one arch (not retried any more): the arch is `failed` with the error. Then,
 * unless the build publishes partial results, the whole build fails: sibling arches are
 * canceled, staging objects deleted, the record finished and `done` emitted. With
 * `allowPartial` the publish job decides once every arch ended.
 */
export async function failArch(
  deps: WorkerDeps,
  sink: EventSink,
  data: Pick<BuildJobData, 'buildId' | 'arch'>,
  error: BuildError,
  log: Logger,
): Promise<void> {
  const { buildId, arch } = data;
  await deps.buildStore.updateArch(buildId, arch, {
    state: 'failed',
    finishedAt: new Date().toISOString(),
    error,
  });
  sink.push({ type: 'arch-failed', arch, error });
  const meta = await deps.buildStore.getMeta(buildId);
  if (!meta || meta.allowPartial || meta.final) {
    await sink.flush();
    return;
  }
  log.info({ code: error.code }, 'build failed; canceling the other architectures');
  await deps.redis.publish(deps.keys.cancelChannel, JSON.stringify({ buildId }));
  await deleteStaging(deps, buildId, log);
  await finishBuild(deps, sink, buildId, 'failed', archError(meta.arches, arch, error));
}

/** A build's error from one arch's: named after the arch when the build has several. */
export function archError(arches: readonly string[], arch: string, error: BuildError): BuildError {
  if (arches.length < 2 || error.message.startsWith(`${arch}: `)) return error;
  return { ...error, message: `${arch}: ${error.message}` };
}
