/**
 * Build records in Redis: one hash per build (`meta` + one `arch:<arch>` field per architecture,
 * so arch workers never overwrite each other), a sorted set for listing, and retention by TTL
 * (the farm's published `RetentionPolicy`, else the constructor's values). The listing is capped
 * by count and trimmed by age, so Redis stays bounded however many builds pass through.
 */
import type { RedisClient } from './connection.js';
import type { Arch } from '@joblet/spec';
import {
  ArchStatus,
  BuildMeta,
  type BuildError,
  type BuildRecord,
  type BuildState,
} from '@joblet/spec';
import { compactStream } from './event-stream.js';
import { Keys } from './names.js';
import { releaseQuota } from './quotas.js';
import { incrementCounter } from './redis-metrics.js';
import { RetentionCache } from './retention.js';

const FINAL_ARCH_STATES: ReadonlySet<string> = new Set([
  'succeeded',
  'failed',
  'canceled',
  'cached',
]);

/** How long finished builds (record and event stream) are kept. */
export const DEFAULT_BUILD_RETENTION_S = 7 * 24 * 3600;
/** How many builds the listing index keeps. */
export const MAX_LISTED_BUILDS = 10_000;
/**
 * Listing entries older than the longest retention plus this are dropped: their records have
 * expired (only a build still unfinished that long would lose its listing, not its record).
 */
export const LISTING_GRACE_S = 24 * 3600;

export class BuildStore {
  private readonly retention: RetentionCache;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: Keys = new Keys(),
    retentionS = DEFAULT_BUILD_RETENTION_S,
    /** Failed builds' retention when the farm published none; default: `retentionS`. */
    failedRetentionS = retentionS,
  ) {
    this.retention = new RetentionCache(redis, keys, {
      buildS: retentionS,
      failedBuildS: failedRetentionS,
      jobS: retentionS,
    });
  }

  async create(meta: BuildMeta, archStatus: Partial<Record<Arch, ArchStatus>>): Promise<void> {
    const fields: string[] = ['meta', JSON.stringify(meta)];
    for (const [arch, status] of Object.entries(archStatus))
      fields.push(`arch:${arch}`, JSON.stringify(status));
    const policy = await this.retention.get();
    const maxAgeMs = (Math.max(policy.buildS, policy.failedBuildS) + LISTING_GRACE_S) * 1000;
    await this.redis
      .multi()
      .hset(this.keys.build(meta.id), ...fields)
      .zadd(this.keys.builds, Date.parse(meta.createdAt), meta.id)
      .zremrangebyrank(this.keys.builds, 0, -MAX_LISTED_BUILDS - 1)
      .zremrangebyscore(this.keys.builds, '-inf', Date.now() - maxAgeMs)
      .exec();
  }

  async setArch(buildId: string, arch: Arch, status: ArchStatus): Promise<void> {
    await this.redis.hset(this.keys.build(buildId), `arch:${arch}`, JSON.stringify(status));
  }

  async updateArch(buildId: string, arch: Arch, patch: Partial<ArchStatus>): Promise<ArchStatus> {
    const raw = await this.redis.hget(this.keys.build(buildId), `arch:${arch}`);
    const current = raw ? ArchStatus.parse(JSON.parse(raw)) : { state: 'queued' as const };
    const next = { ...current, ...patch };
    await this.setArch(buildId, arch, next);
    return next;
  }

  async getMeta(buildId: string): Promise<BuildMeta | undefined> {
    const raw = await this.redis.hget(this.keys.build(buildId), 'meta');
    return raw ? BuildMeta.parse(JSON.parse(raw)) : undefined;
  }

  async get(buildId: string): Promise<BuildRecord | undefined> {
    const all = await this.redis.hgetall(this.keys.build(buildId));
    if (!all.meta) return undefined;
    const meta = BuildMeta.parse(JSON.parse(all.meta));
    const archStatus: Record<string, ArchStatus> = {};
    for (const [field, value] of Object.entries(all)) {
      if (field.startsWith('arch:'))
        archStatus[field.slice(5)] = ArchStatus.parse(JSON.parse(value));
    }
    return { ...meta, state: deriveState(meta, archStatus), archStatus };
  }

  /** Newest first. */
  async list(limit = 50, offset = 0): Promise<BuildRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.builds, offset, offset + limit - 1);
    const out: BuildRecord[] = [];
    for (const id of ids) {
      const b = await this.get(id);
      if (b) out.push(b);
    }
    return out;
  }

  /**
   * Marks the build terminal: sets `final`, drops the in-flight dedup key (only if it still points
   * at this build), starts the retention clock on the record and its events (failed builds keep
   * theirs for the failed-build retention), frees the submitter's slot of the queued-builds quota
   * and counts the result in `joblet_builds_total`.
   */
  async finish(
    buildId: string,
    final: BuildState,
    error?: BuildError,
  ): Promise<BuildMeta | undefined> {
    const meta = await this.getMeta(buildId);
    if (!meta) return undefined;
    if (meta.final) return meta;
    const next: BuildMeta = { ...meta, final, finishedAt: new Date().toISOString(), error };
    const policy = await this.retention.get();
    const ttlS = final === 'failed' ? policy.failedBuildS : policy.buildS;
    const res = await this.redis
      .multi()
      .hset(this.keys.build(buildId), 'meta', JSON.stringify(next))
      // Two processes may finish the same build (a cancel racing the publisher): count it once.
      .hsetnx(this.keys.build(buildId), 'counted', '1')
      .expire(this.keys.build(buildId), ttlS)
      .expire(this.keys.buildEvents(buildId), ttlS)
      .exec();
    await compactStream(this.redis, this.keys.buildEvents(buildId), ttlS);
    await this.releaseInflight(meta.submissionKey, buildId);
    await releaseQuota(this.redis, this.keys, 'builds-queued', buildId);
    if (res?.[1]?.[1] === 1) await this.countArches(next, final);
    return next;
  }

  /**
   * One `joblet_builds_total` increment per architecture of the build, with that arch's own end
   * (an arch not yet final when its build ended counts with the build's result).
   */
  private async countArches(meta: BuildMeta, final: BuildState): Promise<void> {
    const raw = await this.redis.hmget(
      this.keys.build(meta.id),
      ...meta.arches.map((a) => `arch:${a}`),
    );
    for (const [i, arch] of meta.arches.entries()) {
      const v = raw[i];
      const state = v ? ArchStatus.parse(JSON.parse(v)).state : undefined;
      const result = state && FINAL_ARCH_STATES.has(state) ? state : final;
      await incrementCounter(this.redis, this.keys, 'joblet_builds_total', { arch, result });
    }
  }

  /** Claims the dedup slot for a submission key; returns the build already holding it, if any. */
  async claimInflight(
    submissionKey: string,
    buildId: string,
    ttlS = 24 * 3600,
  ): Promise<string | undefined> {
    const ok = await this.redis.set(this.keys.inflight(submissionKey), buildId, 'EX', ttlS, 'NX');
    if (ok === 'OK') return undefined;
    return (await this.redis.get(this.keys.inflight(submissionKey))) ?? undefined;
  }

  async releaseInflight(submissionKey: string, buildId: string): Promise<void> {
    // Compare-and-delete in one step so a newer build's claim is never dropped.
    await this.redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
      1,
      this.keys.inflight(submissionKey),
      buildId,
    );
  }
}

/** Overall state: the terminal one when set, else what the arches say. */
export function deriveState(meta: BuildMeta, arches: Record<string, ArchStatus>): BuildState {
  if (meta.final) return meta.final;
  const states = Object.values(arches).map((a) => a.state);
  if (states.some((s) => s === 'running')) return 'running';
  if (states.length > 0 && states.every((s) => s === 'succeeded' || s === 'cached'))
    return 'publishing';
  if (states.some((s) => s === 'succeeded' || s === 'failed')) return 'running';
  return 'queued';
}
