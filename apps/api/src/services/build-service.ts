/**
 * Submitting and cancelling builds. A submission is validated with the server's catalog, answered
 * `cached` when its build keys already have a published artifact, deduplicated against an
 * identical submission in flight, and otherwise counted against the submitter's queued-builds
 * quota (freed when the build finishes: BuildStore.finish) and enqueued as one BullMQ flow: a
 * `publish` parent with one child per architecture on `build-<arch>`.
 */
import { randomUUID } from 'node:crypto';
import { Job, type FlowProducer, type Queue } from 'bullmq';
import {
  RuntimeIndexEntry,
  computeBuildKey,
  findCatalogEntry,
  formatDiagnostic,
  specArchitectures,
  validateRuntimeSpec,
  type Arch,
  type BaseCatalog,
  type ArchStatus,
  type BuildEvent,
  type BuildMeta,
  type BuildRecord,
  type RuntimeSpec,
  type SkippedArch,
} from '@joblet/spec';
import {
  BUILDER_VERSION,
  appendEvent,
  buildFlow,
  childJobId,
  incrementCounter,
  submissionKey,
  type BuildStore,
  type Keys,
  type RedisClient,
} from '@joblet/queue';
import { indexKey, stagingPrefix, type ArtifactStore } from '@joblet/storage';
import { ApiError } from '../plugins/errors.js';
import type { QuotaService } from './quota-service.js';

/** What submitting and cancelling builds uses. */
export interface BuildServiceDeps {
  redis: RedisClient;
  keys: Keys;
  store: ArtifactStore;
  /** The server's catalog: the one that builds. */
  catalog: BaseCatalog;
  /** Architectures a spec that names none is built for. */
  architectures: Arch[];
  buildStore: BuildStore;
  /** One `build-<arch>` queue per pool this farm has. */
  buildQueues: ReadonlyMap<Arch, Queue>;
  publishQueue: Queue;
  flows: FlowProducer;
  quotas: Pick<QuotaService, 'reserve' | 'release'>;
}

export interface SubmitBuildInput {
  spec: string;
  filename?: string;
  force?: boolean;
  architectures?: Arch[];
  verbose?: boolean;
  allowPartial?: boolean;
  /** Whose queued-builds quota a new build counts against; undefined: none (local admin). */
  owner?: string;
}

export type SubmitBuildResult =
  | {
      kind: 'cached';
      name: string;
      version: string;
      index: RuntimeIndexEntry;
      skipped: SkippedArch[];
    }
  | { kind: 'queued'; build: BuildRecord; deduplicated: boolean };

export class BuildService {
  constructor(private readonly s: BuildServiceDeps) {}

  async submit(input: SubmitBuildInput): Promise<SubmitBuildResult> {
    const file = input.filename ?? 'runtime.yaml';
    const result = validateRuntimeSpec(input.spec, {
      file,
      catalog: this.s.catalog,
      catalogMode: 'server',
    });
    if (!result.ok || !result.spec) {
      throw new ApiError(
        422,
        'INVALID_SPEC',
        `${file} is invalid: ${result.errors.map(formatDiagnostic).join('; ')}`,
        result.errors.map((d) => ({ field: d.path, message: formatDiagnostic(d) })),
      );
    }
    const spec = result.spec;
    const { arches, skipped } = this.archesFor(spec, input.architectures);
    const entry = findCatalogEntry(this.s.catalog, spec.base.language, spec.base.version);
    if (!entry) {
      // validateRuntimeSpec in server mode already refuses this; kept as a guard.
      throw new ApiError(
        422,
        'INVALID_SPEC',
        `no base for ${spec.base.language} ${spec.base.version}`,
      );
    }
    const archKeys = Object.fromEntries(
      arches.map((arch) => [
        arch,
        computeBuildKey({ spec, arch, catalogEntry: entry, builderVersion: BUILDER_VERSION }),
      ]),
    ) as Record<Arch, string>;

    const existing = await this.readIndex(spec.name, spec.version);
    if (existing && !input.force) {
      const same = arches.every((a) => existing.arches[a]?.buildKey === archKeys[a]);
      if (same) {
        await incrementCounter(this.s.redis, this.s.keys, 'joblet_build_cache_hits_total', {});
        return {
          kind: 'cached',
          name: spec.name,
          version: spec.version,
          index: existing,
          skipped,
        };
      }
      const have = Object.keys(existing.arches) as Arch[];
      const adding = arches.filter((a) => !have.includes(a));
      if (adding.length > 0 && have.every((a) => existing.arches[a]?.buildKey === archKeys[a])) {
        throw new ApiError(
          409,
          'CONFLICT',
          `${spec.name}@${spec.version} is published for ${have.join(', ')} only; to add ` +
            `${adding.join(', ')}, rebuild it with --force (or bump the version)`,
        );
      }
      throw new ApiError(
        409,
        'CONFLICT',
        `${spec.name}@${spec.version} already exists and was built from different inputs ` +
          `(spec, architectures or base); bump the version, or rebuild with --force`,
      );
    }

    const subKey = submissionKey(archKeys, Boolean(input.force));
    const buildId = randomUUID();
    const holder = await this.s.buildStore.claimInflight(subKey, buildId);
    if (holder) {
      const build = await this.s.buildStore.get(holder);
      if (build) return { kind: 'queued', build, deduplicated: true };
      // The holder's record is gone (expired): take the slot over.
      await this.s.buildStore.releaseInflight(subKey, holder);
      return this.submit(input);
    }

    const meta: BuildMeta = {
      id: buildId,
      name: spec.name,
      version: spec.version,
      submissionKey: subKey,
      arches,
      skipped,
      force: Boolean(input.force),
      allowPartial: Boolean(input.allowPartial),
      createdAt: new Date().toISOString(),
    };
    const queued: Partial<Record<Arch, ArchStatus>> = {};
    for (const arch of arches) queued[arch] = { state: 'queued' };
    try {
      await this.s.quotas.reserve('builds-queued', input.owner, buildId);
    } catch (err) {
      await this.s.buildStore.releaseInflight(subKey, buildId);
      throw err;
    }
    try {
      await this.s.buildStore.create(meta, queued);
      await this.event(buildId, {
        type: 'submitted',
        arches,
        name: spec.name,
        version: spec.version,
      });
      await this.enqueue(meta, spec, input, archKeys);
    } catch (err) {
      // Nothing half-made: no record, no dedup slot, no queue entry.
      await this.s.buildStore.releaseInflight(subKey, buildId);
      await this.s.redis.del(this.s.keys.build(buildId), this.s.keys.buildEvents(buildId));
      await this.s.redis.zrem(this.s.keys.builds, buildId);
      await this.s.quotas.release('builds-queued', buildId);
      throw new ApiError(
        503,
        'UNAVAILABLE',
        `could not enqueue the build: ${(err as Error).message}`,
      );
    }
    const build = await this.s.buildStore.get(buildId);
    if (!build) throw new Error(`build ${buildId} vanished right after creation`);
    return { kind: 'queued', build, deduplicated: false };
  }

  /** Cancels a build that has not finished: queued children are removed, running ones killed. */
  async cancel(buildId: string): Promise<BuildRecord> {
    const meta = await this.s.buildStore.getMeta(buildId);
    if (!meta) throw new ApiError(404, 'NOT_FOUND', `build not found: ${buildId}`);
    if (meta.final) {
      throw new ApiError(409, 'CONFLICT', `build ${buildId} already finished (${meta.final})`);
    }
    await this.s.buildStore.finish(buildId, 'canceled', {
      code: 'CANCELED',
      message: 'canceled by request',
    });
    // Workers kill running sandboxes of this build when they hear this.
    await this.s.redis.publish(this.s.keys.cancelChannel, JSON.stringify({ buildId }));
    for (const arch of meta.arches) {
      const queue = this.s.buildQueues.get(arch);
      const job = queue ? await Job.fromId(queue, childJobId(buildId, arch)) : undefined;
      const state = job ? await job.getState() : undefined;
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
        await job.remove().catch(() => undefined);
        await this.s.buildStore.updateArch(buildId, arch, {
          state: 'canceled',
          finishedAt: new Date().toISOString(),
        });
        await this.event(buildId, { type: 'arch-canceled', arch });
      }
    }
    // The publish parent is removed when nothing of it runs any more; if a child is still active,
    // its worker fails it on the cancel message and the parent fails with it.
    const parent = await Job.fromId(this.s.publishQueue, buildId);
    await parent?.remove().catch(() => undefined);
    await this.s.store.deletePrefix(stagingPrefix(buildId)).catch(() => 0);
    // `done` is written once per build, whoever ends it (workers claim the same field).
    if ((await this.s.redis.hsetnx(this.s.keys.build(buildId), 'once:done', '1')) === 1) {
      await this.event(buildId, {
        type: 'done',
        state: 'canceled',
        error: { code: 'CANCELED', message: 'canceled by request' },
      });
    }
    const build = await this.s.buildStore.get(buildId);
    if (!build) throw new ApiError(404, 'NOT_FOUND', `build not found: ${buildId}`);
    return build;
  }

  /**
   * The architectures to build. Named with `--arch` (`architectures` of the request): all of
   * them or nothing — a pool missing is a 400. From the spec (`architectures`, `platforms`) or
   * the farm's default: those this farm has pools for; the others are skipped, each with how to
   * get it. None left is a 400.
   */
  private archesFor(
    spec: RuntimeSpec,
    requested?: Arch[],
  ): { arches: Arch[]; skipped: SkippedArch[] } {
    const explicit = Boolean(requested?.length);
    const wanted = explicit
      ? [...new Set(requested)]
      : specArchitectures(spec, this.s.architectures);
    const unknown = wanted.filter((a) => !this.s.buildQueues.has(a));
    const arches = wanted.filter((a) => this.s.buildQueues.has(a));
    if (unknown.length && (explicit || arches.length === 0)) {
      throw new ApiError(
        400,
        'BAD_REQUEST',
        `this farm has no build pool for ${unknown.join(', ')} (pools: ${[...this.s.buildQueues.keys()].join(', ')}); ${howToAddPool(unknown)}`,
        [{ field: 'architectures', message: `unsupported: ${unknown.join(', ')}` }],
      );
    }
    const skipped = unknown.map((arch) => ({
      arch,
      reason: `this farm has no ${arch} build pool; ${howToAddPool([arch])}`,
    }));
    return { arches, skipped };
  }

  private async readIndex(name: string, version: string): Promise<RuntimeIndexEntry | undefined> {
    const raw = await this.s.store.getJson<unknown>(indexKey(name, version));
    if (raw === undefined) return undefined;
    const parsed = RuntimeIndexEntry.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }

  private async enqueue(
    meta: BuildMeta,
    spec: RuntimeSpec,
    input: SubmitBuildInput,
    archKeys: Record<Arch, string>,
  ): Promise<void> {
    await this.s.flows.add(
      buildFlow(
        {
          buildId: meta.id,
          name: spec.name,
          version: spec.version,
          submissionKey: meta.submissionKey,
          arches: meta.arches,
          allowPartial: meta.allowPartial,
        },
        meta.arches.map((arch) => ({
          buildId: meta.id,
          arch,
          specText: input.spec,
          buildKey: archKeys[arch],
          verbose: Boolean(input.verbose),
        })),
      ),
    );
  }

  private async event(buildId: string, e: BuildEvent): Promise<void> {
    await appendEvent(this.s.redis, this.s.keys.buildEvents(buildId), e);
  }
}

/** What an operator does to build for `arches`: a worker per arch, and the API told of it. */
function howToAddPool(arches: Arch[]): string {
  const list = arches.join(',');
  return (
    `to build ${arches.join(' and ')}, start a worker with WORKER_ARCH=${arches[0]}` +
    `${arches.length > 1 ? ' (one per arch)' : ''} — on another architecture's host under QEMU ` +
    `(qemu-user-static, WORKER_REGISTER_BINFMT=true) — and add ${list} to the API's ` +
    `FARM_ARCHITECTURES, then rebuild with --force`
  );
}
