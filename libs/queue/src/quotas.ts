/**
 * Per-identity quotas, counted in Redis so that every API replica sees the same counts. A quota is
 * a set per identity of the items it holds (job ids, build ids, `<node>/<volume>`), plus, per
 * item, the identity it is counted against:
 *
 * - {@link reserveQuota} adds an item while the identity holds fewer than the limit, in one Lua
 *   step, so two replicas cannot both take the last slot;
 * - {@link releaseQuota} removes it when the job or build ends (JobStore and BuildStore call it
 *   from the step that records the end, in whichever process that is) or the volume is removed;
 * - an item whose release never happened (a process died between the two writes) is dropped by
 *   {@link pruneQuota}, which the reservation runs before it refuses: a count cannot leak for good.
 */
import { BuildMeta, FINAL_JOB_STATES, JobRecord } from '@joblet/spec';
import type { RedisClient } from './connection.js';
import type { Keys } from './names.js';

export const QUOTA_KINDS = ['jobs-active', 'volumes', 'builds-queued'] as const;
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** Whether each item still holds its slot (same order as `items`). */
export type QuotaLiveness = (items: string[]) => Promise<boolean[]>;

/**
 * KEYS: the identity's set, the item's owner key. ARGV: item, limit (0 = none), owner.
 * An item held already is not counted twice (re-creating a volume).
 */
const RESERVE_SCRIPT = `
local n = redis.call('SCARD', KEYS[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, n} end
local limit = tonumber(ARGV[2])
if limit > 0 and n >= limit then return {0, n} end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3])
return {1, n + 1}`;

/** `count`: what the identity holds now (with the new item when `ok`). */
export interface QuotaReservation {
  ok: boolean;
  count: number;
}

async function tryReserve(
  redis: RedisClient,
  keys: Keys,
  kind: QuotaKind,
  owner: string,
  item: string,
  limit: number,
): Promise<QuotaReservation> {
  const [ok, count] = (await redis.eval(
    RESERVE_SCRIPT,
    2,
    keys.quota(kind, owner),
    keys.quotaOwner(kind, item),
    item,
    String(limit),
    owner,
  )) as [number, number];
  return { ok: ok === 1, count };
}

/**
 * Counts `item` against `owner`'s quota of `kind` unless that would exceed `limit` (0: no limit,
 * still counted). At the limit, items that no longer hold a slot are pruned first.
 */
export async function reserveQuota(
  redis: RedisClient,
  keys: Keys,
  kind: QuotaKind,
  owner: string,
  item: string,
  limit: number,
  isLive: QuotaLiveness,
): Promise<QuotaReservation> {
  const first = await tryReserve(redis, keys, kind, owner, item, limit);
  if (first.ok) return first;
  await pruneQuota(redis, keys, kind, owner, isLive);
  return tryReserve(redis, keys, kind, owner, item, limit);
}

/** Frees `item`'s slot, whoever holds it; idempotent. */
export async function releaseQuota(
  redis: RedisClient,
  keys: Keys,
  kind: QuotaKind,
  item: string,
): Promise<void> {
  const ownerKey = keys.quotaOwner(kind, item);
  const owner = await redis.get(ownerKey);
  if (owner === null) return;
  await redis.multi().srem(keys.quota(kind, owner), item).del(ownerKey).exec();
}

/** What `owner` holds against `kind` now. */
export function quotaCount(
  redis: RedisClient,
  keys: Keys,
  kind: QuotaKind,
  owner: string,
): Promise<number> {
  return redis.scard(keys.quota(kind, owner));
}

/** Drops the items of `owner` that `isLive` says have ended; returns how many. */
export async function pruneQuota(
  redis: RedisClient,
  keys: Keys,
  kind: QuotaKind,
  owner: string,
  isLive: QuotaLiveness,
): Promise<number> {
  const items = await redis.smembers(keys.quota(kind, owner));
  if (items.length === 0) return 0;
  const live = await isLive(items);
  const dead = items.filter((_, i) => !live[i]);
  for (const item of dead) await releaseQuota(redis, keys, kind, item);
  return dead.length;
}

/** A job holds its slot while its record exists in a state that is not final. */
export function liveJobs(redis: RedisClient, keys: Keys): QuotaLiveness {
  return async (ids) => {
    const raws = await redis.mget(ids.map((id) => keys.job(id)));
    return raws.map((raw) => {
      if (!raw) return false;
      const rec = JobRecord.safeParse(JSON.parse(raw));
      return rec.success && !FINAL_JOB_STATES.includes(rec.data.state);
    });
  };
}

/** A build holds its slot while its record exists and has not finished. */
export function liveBuilds(redis: RedisClient, keys: Keys): QuotaLiveness {
  return async (ids) => {
    const out: boolean[] = [];
    for (const id of ids) {
      const raw = await redis.hget(keys.build(id), 'meta');
      const meta = raw ? BuildMeta.safeParse(JSON.parse(raw)) : undefined;
      out.push(Boolean(meta?.success && !meta.data.final));
    }
    return out;
  };
}

/** `<node>/<name>`: a volume's item in its quota. */
export function volumeQuotaItem(node: string, name: string): string {
  return `${node}/${name}`;
}

/** A volume holds its slot while its node lists it. */
export function liveVolumes(redis: RedisClient, keys: Keys): QuotaLiveness {
  return async (items) => {
    const out: boolean[] = [];
    for (const item of items) {
      const slash = item.indexOf('/');
      const [node, name] = [item.slice(0, slash), item.slice(slash + 1)];
      out.push(slash > 0 && (await redis.sismember(keys.volumes(node), name)) === 1);
    }
    return out;
  };
}
