/**
 * Enqueues a build the way the API does (record, `submitted` event, BullMQ flow: a `publish`
 * parent with one `build-<arch>` child per architecture) and waits for its `done` event.
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer } from 'bullmq';
import {
  BUILDER_VERSION,
  BuildStore,
  Keys,
  appendEvent,
  buildFlow,
  deleteKeys as deleteMatching,
  readAfter,
  submissionKey,
  type BuildJobData,
  type PublishJobData,
  type RedisClient,
} from '@joblet/queue';
import {
  BuildEvent,
  builtinCatalog,
  computeBuildKey,
  findCatalogEntry,
  formatDiagnostic,
  validateRuntimeSpec,
  type Arch,
  type BuildMeta,
} from '@joblet/spec';

export interface EnqueueOptions {
  arches?: Arch[];
  attempts?: number;
  backoffMs?: number;
  verbose?: boolean;
  allowPartial?: boolean;
}

export interface Enqueued {
  buildId: string;
  name: string;
  version: string;
  buildKeys: Partial<Record<Arch, string>>;
}

export async function enqueueBuild(
  redis: RedisClient,
  prefix: string,
  specText: string,
  opts: EnqueueOptions = {},
): Promise<Enqueued> {
  const v = validateRuntimeSpec(specText, { catalogMode: 'server' });
  if (!v.ok || !v.spec) throw new Error(v.errors.map(formatDiagnostic).join('\n'));
  const spec = v.spec;
  const entry = findCatalogEntry(builtinCatalog, spec.base.language, spec.base.version)!;
  const arches = opts.arches ?? ['amd64'];
  const buildKeys: Partial<Record<Arch, string>> = {};
  for (const arch of arches) {
    buildKeys[arch] = computeBuildKey({
      spec,
      arch,
      catalogEntry: entry,
      builderVersion: BUILDER_VERSION,
    });
  }
  const keys = new Keys(prefix);
  const buildId = randomUUID();
  const meta: BuildMeta = {
    id: buildId,
    name: spec.name,
    version: spec.version,
    submissionKey: submissionKey(buildKeys, false),
    arches,
    force: false,
    allowPartial: opts.allowPartial ?? false,
    createdAt: new Date().toISOString(),
  };
  const store = new BuildStore(redis, keys);
  await store.create(
    meta,
    Object.fromEntries(arches.map((a) => [a, { state: 'queued' as const }])),
  );
  await appendEvent(redis, keys.buildEvents(buildId), {
    type: 'submitted',
    arches,
    name: spec.name,
    version: spec.version,
  });
  const flows = new FlowProducer({ connection: redis, prefix });
  try {
    const publish: PublishJobData = {
      buildId,
      name: spec.name,
      version: spec.version,
      submissionKey: meta.submissionKey,
      arches,
      allowPartial: meta.allowPartial,
    };
    const children = arches.map((arch): BuildJobData => ({
      buildId,
      arch,
      specText,
      buildKey: buildKeys[arch]!,
      verbose: opts.verbose ?? true,
    }));
    // The protocol's flow; tests retry sooner than the farm (1 s, not 5 s, to start with).
    await flows.add(
      buildFlow(publish, children, {
        ...(opts.attempts !== undefined && { attempts: opts.attempts }),
        backoffMs: opts.backoffMs ?? 1000,
      }),
    );
  } finally {
    await flows.close();
  }
  return { buildId, name: spec.name, version: spec.version, buildKeys };
}

/** Every event of a build so far. */
export async function buildEvents(
  redis: RedisClient,
  prefix: string,
  buildId: string,
): Promise<BuildEvent[]> {
  const out: BuildEvent[] = [];
  let after = '0';
  for (;;) {
    const batch = await readAfter(redis, new Keys(prefix).buildEvents(buildId), BuildEvent, after);
    if (batch.length === 0) return out;
    for (const e of batch) out.push(e.event);
    after = batch[batch.length - 1]!.id;
  }
}

/**
 * How long a test waits for a real build: room for a cold cache on a loaded machine (a first
 * rootless node + npm build took 440 s at load 50).
 */
export const BUILD_WAIT_MS = 900_000;

/** Polls the build's events until `done` (or `until` matches); returns them all. */
export async function waitForEvent(
  redis: RedisClient,
  prefix: string,
  buildId: string,
  until: (e: BuildEvent) => boolean = (e) => e.type === 'done',
  timeoutMs = BUILD_WAIT_MS,
): Promise<BuildEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await buildEvents(redis, prefix, buildId);
    if (events.some(until)) return events;
    if (Date.now() > deadline) {
      const tail = events.slice(-15).map((e) => JSON.stringify(e));
      throw new Error(`timed out waiting for build ${buildId}; last events:\n${tail.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Cancels a build the way the API does: record finished, cancel broadcast, `done` event. */
export async function cancelBuild(
  redis: RedisClient,
  prefix: string,
  buildId: string,
): Promise<void> {
  const keys = new Keys(prefix);
  const error = { code: 'CANCELED' as const, message: 'canceled by request' };
  await new BuildStore(redis, keys).finish(buildId, 'canceled', error);
  await redis.publish(keys.cancelChannel, JSON.stringify({ buildId }));
  await appendEvent(redis, keys.buildEvents(buildId), { type: 'done', state: 'canceled', error });
}

/** Log lines (stdout/stderr/system) of a build's events, in order. */
export function logLines(events: BuildEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'log' ? [e.line] : []));
}

/** Deletes every Redis key under `prefix` (BullMQ's and ours): tests leave nothing behind. */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  await deleteMatching(redis, `${prefix}:*`);
}
