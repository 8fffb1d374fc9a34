/**
 * Per-identity quotas on what one client may hold at once: jobs queued or running, volumes, and
 * builds queued or running. Counted in Redis (`@joblet/queue`'s quotas), so every API replica
 * shares them; a job or build frees its slot when it ends (in whichever process records the end),
 * a volume when it is removed. Beyond a limit: 429 `QUOTA_EXCEEDED` naming the quota, its
 * variable and the count.
 *
 * Admins are not counted — the local admin of `API_AUTH=none` and any `admin` certificate or
 * token (the owner's token of a `rnx farm up` farm included): quotas bound what untrusted clients
 * (developers, CI pipelines) may hold, not what the farm's operators run.
 */
import {
  liveBuilds,
  liveJobs,
  liveVolumes,
  releaseQuota,
  reserveQuota,
  type Keys,
  type QuotaKind,
  type QuotaLiveness,
  type RedisClient,
} from '@joblet/queue';
import { identityKey, type Identity } from '../auth/identity.js';
import { ApiError } from '../plugins/errors.js';

/** Limits per identity; 0 = unlimited. */
export interface QuotaLimits {
  /** API_QUOTA_JOBS_ACTIVE: jobs scheduled, queued or running. */
  jobsActive: number;
  /** API_QUOTA_VOLUMES: volumes created and not removed. */
  volumes: number;
  /** API_QUOTA_BUILDS_QUEUED: builds submitted and not finished (queued or running). */
  buildsQueued: number;
}

/**
 * A developer's CI fanning out a test matrix stays far below these; a runaway loop stops at
 * them long before it fills Redis or the queues. An operator raises them per farm.
 */
export const DEFAULT_QUOTAS: QuotaLimits = { jobsActive: 100, volumes: 50, buildsQueued: 20 };

const QUOTAS: Record<QuotaKind, { limit: keyof QuotaLimits; env: string; what: string }> = {
  'jobs-active': {
    limit: 'jobsActive',
    env: 'API_QUOTA_JOBS_ACTIVE',
    what: 'jobs scheduled, queued or running',
  },
  volumes: { limit: 'volumes', env: 'API_QUOTA_VOLUMES', what: 'volumes' },
  'builds-queued': {
    limit: 'buildsQueued',
    env: 'API_QUOTA_BUILDS_QUEUED',
    what: 'builds queued or running',
  },
};

/** Whom a request's work is counted against: nobody for an admin (see the module comment). */
export function quotaOwner(identity: Identity | undefined): string | undefined {
  if (!identity || identity.kind === 'local' || identity.role === 'admin') return undefined;
  return identityKey(identity);
}

export class QuotaService {
  private readonly live: Record<QuotaKind, QuotaLiveness>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    readonly limits: QuotaLimits = DEFAULT_QUOTAS,
  ) {
    this.live = {
      'jobs-active': liveJobs(redis, keys),
      volumes: liveVolumes(redis, keys),
      'builds-queued': liveBuilds(redis, keys),
    };
  }

  /**
   * Counts `item` against `owner` (nothing when owner is undefined).
   * @throws ApiError 429 QUOTA_EXCEEDED when the owner holds its limit already.
   */
  async reserve(kind: QuotaKind, owner: string | undefined, item: string): Promise<void> {
    if (owner === undefined) return;
    const q = QUOTAS[kind];
    const limit = this.limits[q.limit];
    const r = await reserveQuota(this.redis, this.keys, kind, owner, item, limit, this.live[kind]);
    if (r.ok) return;
    throw new ApiError(
      429,
      'QUOTA_EXCEEDED',
      `quota ${q.env} exceeded: ${owner} has ${r.count} ${q.what}; the limit is ${limit}`,
      [{ field: 'quota', message: `${kind}: ${r.count} of ${limit}` }],
    );
  }

  /** Frees `item`'s slot (a failed submission, a removed volume); idempotent. */
  release(kind: QuotaKind, item: string): Promise<void> {
    return releaseQuota(this.redis, this.keys, kind, item);
  }
}
