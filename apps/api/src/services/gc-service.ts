/**
 * The garbage collector of the artifact store (`POST /v1/gc`, `rnx runtime gc`, and optionally on
 * a timer): snapshots the store and what is in use, plans with `planGc`, and — unless it is a dry
 * run — deletes exactly the planned items, under a Redis lock so that two replicas never collect
 * at once. Old versions are removed the way `RuntimeService.remove` does it (index entry first,
 * then cache pointers and artifacts, then `runtime.removed` so agents uninstall them).
 */
import { randomUUID } from 'node:crypto';
import { FINAL_JOB_STATES, type GcResponse, type JobState } from '@joblet/spec';
import type { BuildStore, Keys, RedisClient } from '@joblet/queue';
import { StorePrefix, type ArtifactStore, type ObjectInfo } from '@joblet/storage';
import { ApiError } from '../plugins/errors.js';
import { parsePointer, planGc, type GcPlanItem, type GcSnapshot } from './gc-plan.js';
import type { FarmRetention } from './retention.js';
import type { RuntimeService } from './runtime-service.js';

/** What the collector reads and deletes. */
export interface GcServiceDeps {
  redis: RedisClient;
  keys: Keys;
  store: ArtifactStore;
  buildStore: Pick<BuildStore, 'getMeta'>;
  /** Published versions, their pins, and their removal the way `rnx runtime remove` does it. */
  runtimes: Pick<RuntimeService, 'entries' | 'remove' | 'pins'>;
  retention: Pick<FarmRetention, 'keepVersions' | 'baseUnusedDays'>;
}

/** Objects younger than this are never orphans (a publish in progress writes them first). */
export const GC_GRACE_S = 3600;
/** The lock outlives any sane collection; it is released at the end anyway. */
const LOCK_TTL_S = 1800;
/** Ids read per round trip when looking for jobs and builds in flight. */
const CHUNK = 500;

/** What the collector logs to: the request's logger (pino or Fastify's), or the app's. */
export interface GcLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface CollectOptions {
  dryRun: boolean;
  log?: GcLog;
}

export class GcService {
  constructor(
    private readonly s: GcServiceDeps,
    private readonly now: () => number = Date.now,
  ) {}

  async collect(opts: CollectOptions): Promise<GcResponse> {
    const rules = {
      keepVersions: this.s.retention.keepVersions,
      baseUnusedDays: this.s.retention.baseUnusedDays,
      graceS: GC_GRACE_S,
    };
    const token = opts.dryRun ? undefined : await this.lock();
    try {
      const items = planGc(await this.snapshot(), rules);
      if (!opts.dryRun) for (const item of items) await this.remove(item, opts.log);
      const bytes = items.filter((i) => !i.error).reduce((n, i) => n + i.bytes, 0);
      opts.log?.info(
        { dryRun: opts.dryRun, items: items.length, bytes },
        opts.dryRun ? 'garbage collection planned' : 'garbage collected',
      );
      return {
        items: items.map(({ kind, key, bytes: b, reason, error }) => ({
          kind,
          key,
          bytes: b,
          reason,
          ...(error ? { error } : {}),
        })),
        bytes,
        dryRun: opts.dryRun,
        policy: rules,
      };
    } finally {
      if (token) await this.unlock(token);
    }
  }

  private async snapshot(): Promise<GcSnapshot> {
    const objects = new Map<string, ObjectInfo>();
    for (const prefix of Object.values(StorePrefix))
      for await (const o of this.s.store.list(prefix)) objects.set(o.key, o);
    const pointers = new Map<string, NonNullable<ReturnType<typeof parsePointer>>>();
    for (const key of objects.keys()) {
      if (!key.startsWith(StorePrefix.BUILDS) || !key.endsWith('.json')) continue;
      const p = parsePointer(await this.s.store.getJson(key).catch(() => undefined));
      if (p) pointers.set(key, p);
    }
    const stagingIds = new Set(
      [...objects.keys()]
        .filter((k) => k.startsWith(StorePrefix.STAGING))
        .map((k) => k.split('/')[1] ?? ''),
    );
    const stagingBuilds = new Map<string, { known: boolean; final?: string }>();
    for (const id of stagingIds) {
      const meta = await this.s.buildStore.getMeta(id).catch(() => undefined);
      stagingBuilds.set(id, { known: Boolean(meta), final: meta?.final });
    }
    return {
      now: this.now(),
      entries: await this.s.runtimes.entries(),
      objects,
      pointers,
      inUse: await this.inUse(),
      pinned: new Set((await this.s.runtimes.pins()).keys()),
      stagingBuilds,
    };
  }

  /** `name@version` of every job and build that has not finished: their runtimes stay. */
  private async inUse(): Promise<Set<string>> {
    const used = new Set<string>();
    const jobIds = await this.s.redis.zrange(this.s.keys.jobs, 0, -1);
    for (let i = 0; i < jobIds.length; i += CHUNK) {
      const ids = jobIds.slice(i, i + CHUNK).map((id) => this.s.keys.job(id));
      const raws = await this.s.redis.mget(...ids);
      for (const raw of raws) {
        if (!raw) continue;
        const j = JSON.parse(raw) as {
          state?: JobState;
          runtime?: { name?: string; version?: string };
        };
        if (j.state && !FINAL_JOB_STATES.includes(j.state) && j.runtime)
          used.add(`${j.runtime.name}@${j.runtime.version}`);
      }
    }
    const buildIds = await this.s.redis.zrange(this.s.keys.builds, 0, -1);
    for (let i = 0; i < buildIds.length; i += CHUNK) {
      const p = this.s.redis.pipeline();
      for (const id of buildIds.slice(i, i + CHUNK)) p.hget(this.s.keys.build(id), 'meta');
      for (const [, raw] of (await p.exec()) ?? []) {
        if (typeof raw !== 'string') continue;
        const m = JSON.parse(raw) as { name?: string; version?: string; final?: string };
        if (!m.final) used.add(`${m.name}@${m.version}`);
      }
    }
    return used;
  }

  private async remove(item: GcPlanItem, log?: GcLog): Promise<void> {
    try {
      if (item.kind === 'version') await this.s.runtimes.remove(item.key);
      else if (item.prefix) await this.s.store.deletePrefix(item.prefix);
      else await this.s.store.delete(item.key);
      log?.info({ kind: item.kind, key: item.key, bytes: item.bytes }, 'garbage removed');
    } catch (err) {
      item.error = (err as Error).message;
      log?.warn({ kind: item.kind, key: item.key, err }, 'garbage removal failed');
    }
  }

  private async lock(): Promise<string> {
    const token = randomUUID();
    const ok = await this.s.redis.set(this.s.keys.gcLock, token, 'EX', LOCK_TTL_S, 'NX');
    if (ok !== 'OK')
      throw new ApiError(409, 'CONFLICT', 'a garbage collection is already running; try later');
    return token;
  }

  private async unlock(token: string): Promise<void> {
    await this.s.redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
      1,
      this.s.keys.gcLock,
      token,
    );
  }
}
