/**
 * How long finished build and job records (and their event streams) stay in Redis. The operator
 * sets it on the API (`RETENTION_*`), which publishes it under `Keys.retention`; every process
 * that finishes a build or a job (API, workers, agents) reads it from there, so the policy holds
 * without configuring each of them. A store's constructor value is the fallback when nothing has
 * been published.
 */
import type { RedisClient } from './connection.js';
import type { Keys } from './names.js';

export interface RetentionPolicy {
  /** Seconds a succeeded or canceled build's record and log are kept. */
  buildS: number;
  /** Seconds a failed build's record and log are kept. */
  failedBuildS: number;
  /** Seconds a finished job's record and output are kept. */
  jobS: number;
}

/** How long a published policy is trusted before it is read again (ms). */
const CACHE_MS = 30_000;
const FIELDS = ['build', 'failedBuild', 'job'] as const;

/** Writes the policy for every process of the farm (the API does this at start). */
export async function publishRetentionPolicy(
  redis: RedisClient,
  keys: Keys,
  policy: RetentionPolicy,
): Promise<void> {
  await redis.hset(keys.retention, {
    build: String(policy.buildS),
    failedBuild: String(policy.failedBuildS),
    job: String(policy.jobS),
  });
}

/** The published policy, field by field over `fallback`. */
export async function readRetentionPolicy(
  redis: RedisClient,
  keys: Keys,
  fallback: RetentionPolicy,
): Promise<RetentionPolicy> {
  const [build, failedBuild, job] = await redis.hmget(keys.retention, ...FIELDS);
  const pick = (raw: string | null, def: number) => {
    const n = Number(raw);
    return raw !== null && Number.isInteger(n) && n > 0 ? n : def;
  };
  return {
    buildS: pick(build ?? null, fallback.buildS),
    failedBuildS: pick(failedBuild ?? null, fallback.failedBuildS),
    jobS: pick(job ?? null, fallback.jobS),
  };
}

/** A policy read at most every 30 s: finishing a record costs no extra round trip most times. */
export class RetentionCache {
  private value?: RetentionPolicy;
  private readAt = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly fallback: RetentionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<RetentionPolicy> {
    if (this.value && this.now() - this.readAt < CACHE_MS) return this.value;
    this.value = await readRetentionPolicy(this.redis, this.keys, this.fallback);
    this.readAt = this.now();
    return this.value;
  }
}
