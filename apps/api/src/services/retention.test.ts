import { describe, expect, it } from 'vitest';
import { readApiEnv } from '../env.js';
import { DEFAULT_RETENTION, retentionFromEnv } from './retention.js';

describe('retention settings', () => {
  it('defaults: 5 versions, 7 days of builds, failed builds and jobs, bases 30 days, no timer', () => {
    const env = readApiEnv({});
    expect(retentionFromEnv(env)).toEqual(DEFAULT_RETENTION);
    expect(DEFAULT_RETENTION).toEqual({
      buildS: 7 * 86400,
      failedBuildS: 7 * 86400,
      jobS: 7 * 86400,
      keepVersions: 5,
      baseUnusedDays: 30,
    });
    expect(env.GC_INTERVAL_S).toBe(0);
  });

  it('reads the RETENTION_* variables, fractions of days included, and refuses nonsense by name', () => {
    const env = readApiEnv({
      RETENTION_KEEP_VERSIONS: '3',
      RETENTION_FAILED_BUILD_DAYS: '30',
      RETENTION_JOB_DAYS: '0.5',
      GC_INTERVAL_S: '21600',
    });
    expect(retentionFromEnv(env)).toMatchObject({
      keepVersions: 3,
      failedBuildS: 30 * 86400,
      jobS: 43200,
      buildS: 7 * 86400,
    });
    expect(() => readApiEnv({ RETENTION_KEEP_VERSIONS: '0' })).toThrow(/RETENTION_KEEP_VERSIONS/);
    expect(() => readApiEnv({ RETENTION_JOB_DAYS: '-1' })).toThrow(/RETENTION_JOB_DAYS/);
  });
});
