/**
 * The farm's retention policy as the API holds it: how long finished records stay in Redis (the
 * part every process applies, published through `@joblet/queue`), and what the garbage collector
 * keeps in the artifact store.
 */
import {
  DEFAULT_BUILD_RETENTION_S,
  DEFAULT_JOB_RETENTION_S,
  type RetentionPolicy,
} from '@joblet/queue';

export interface FarmRetention extends RetentionPolicy {
  /** Published versions kept per runtime, newest by semver. */
  keepVersions: number;
  /** Days an unused base root is kept. */
  baseUnusedDays: number;
}

const DAY_S = 24 * 3600;

export const DEFAULT_RETENTION: FarmRetention = {
  buildS: DEFAULT_BUILD_RETENTION_S,
  failedBuildS: DEFAULT_BUILD_RETENTION_S,
  jobS: DEFAULT_JOB_RETENTION_S,
  keepVersions: 5,
  baseUnusedDays: 30,
};

export function retentionFromEnv(env: {
  RETENTION_KEEP_VERSIONS: number;
  RETENTION_BUILD_DAYS: number;
  RETENTION_FAILED_BUILD_DAYS: number;
  RETENTION_JOB_DAYS: number;
  RETENTION_BASE_DAYS: number;
}): FarmRetention {
  const s = (days: number) => Math.max(1, Math.round(days * DAY_S));
  return {
    buildS: s(env.RETENTION_BUILD_DAYS),
    failedBuildS: s(env.RETENTION_FAILED_BUILD_DAYS),
    jobS: s(env.RETENTION_JOB_DAYS),
    keepVersions: env.RETENTION_KEEP_VERSIONS,
    baseUnusedDays: env.RETENTION_BASE_DAYS,
  };
}
