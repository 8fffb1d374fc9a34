import { describe, expect, it } from 'vitest';
import { readWorkerEnv } from './env.js';

describe('readWorkerEnv', () => {
  it('has defaults for everything', () => {
    const c = readWorkerEnv({});
    expect(c).toMatchObject({
      concurrency: 1,
      queuePrefix: 'joblet',
      redisUrl: 'redis://127.0.0.1:6379',
      cacheDir: '/var/cache/joblet-farm',
      workDir: '/var/lib/joblet-farm/work',
      buildTimeoutS: 3600,
      buildMemoryMb: 4096,
      buildCpuPercent: 200,
      buildPidsMax: 4096,
      shutdownTimeoutS: 60,
      maxAttempts: 3,
      lockDurationS: 30,
      stalledIntervalS: 15,
      publish: true,
    });
    expect(['amd64', 'arm64']).toContain(c.arch);
    expect(c.name).toMatch(new RegExp(`-${process.pid}$`));
    expect(c.aptMirror).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = readWorkerEnv({
      WORKER_ARCH: 'arm64',
      WORKER_CONCURRENCY: '2',
      WORKER_PUBLISH: 'false',
      BUILD_APT_MIRROR: 'http://mirror.example/debian/',
      BUILD_PIP_INDEX_URL: 'http://127.0.0.1:3141/simple/',
      WORKER_BUILD_TIMEOUT_S: '600',
      STORAGE_URL: 's3://bucket?endpoint=http://127.0.0.1:9000',
    });
    expect(c).toMatchObject({
      arch: 'arm64',
      concurrency: 2,
      publish: false,
      aptMirror: 'http://mirror.example/debian',
      pipIndexUrl: 'http://127.0.0.1:3141/simple/',
      buildTimeoutS: 600,
    });
  });

  it('treats empty values as unset', () => {
    expect(readWorkerEnv({ BUILD_APT_MIRROR: '', WORKER_CONCURRENCY: '' }).concurrency).toBe(1);
  });

  it('names every bad variable at once', () => {
    expect(() =>
      readWorkerEnv({
        WORKER_ARCH: 'sparc',
        WORKER_CONCURRENCY: 'many',
        WORKER_WORK_DIR: 'relative/dir',
        BUILD_NPM_REGISTRY: 'ftp://registry',
        WORKER_PUBLISH: 'maybe',
      }),
    ).toThrow(
      /WORKER_ARCH[\s\S]*WORKER_CONCURRENCY[\s\S]*WORKER_WORK_DIR[\s\S]*BUILD_NPM_REGISTRY[\s\S]*WORKER_PUBLISH/,
    );
  });
});
