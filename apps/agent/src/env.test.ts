import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { nodeNameFromHostname, readAgentEnv } from './env.js';

describe('readAgentEnv', () => {
  it('has defaults for everything', () => {
    const c = readAgentEnv({ AGENT_NAME: 'n1', AGENT_ARCH: 'amd64' });
    expect(c).toMatchObject({
      name: 'n1',
      arch: 'amd64',
      labels: {},
      capacity: availableParallelism(),
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'joblet',
      runtimesDir: '/opt/joblet/runtimes',
      heartbeatIntervalMs: 5000,
      reconcileIntervalMs: 60_000,
      minFreeBytes: 1024 * 1024 * 1024,
      logLevel: 'info',
    });
  });

  it('parses labels, arch override, sizes and empty values as unset', () => {
    const c = readAgentEnv({
      AGENT_NAME: '',
      AGENT_ARCH: 'arm64',
      AGENT_LABELS: 'gpu=a100, zone=eu-1,empty=',
      AGENT_CAPACITY: '8',
      AGENT_MIN_FREE_MB: '10',
      AGENT_MAX_ARTIFACT_MB: '100',
      RUNTIMES_DIR: '/srv/rt/',
    });
    expect(c.arch).toBe('arm64');
    expect(c.labels).toEqual({ gpu: 'a100', zone: 'eu-1', empty: '' });
    expect(c.capacity).toBe(8);
    expect(c.minFreeBytes).toBe(10 * 1024 * 1024);
    expect(c.maxArtifactBytes).toBe(100 * 1024 * 1024);
    expect(c.runtimesDir).toBe('/srv/rt');
    expect(c.name).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
  });

  it('names every bad variable', () => {
    expect(() =>
      readAgentEnv({
        AGENT_NAME: 'Bad_Name',
        AGENT_ARCH: 'sparc',
        AGENT_LABELS: 'novalue',
        AGENT_HEARTBEAT_S: '0',
        RUNTIMES_DIR: '/',
        REDIS_URL: 'http://x',
      }),
    ).toThrow(
      /AGENT_NAME: .*\n.*AGENT_ARCH: .*\n.*AGENT_LABELS: "novalue" is not key=value.*\n.*REDIS_URL: .*\n.*RUNTIMES_DIR: a directory other than \/\n.*AGENT_HEARTBEAT_S/s,
    );
  });

  it('derives a valid node name from any hostname', () => {
    expect(nodeNameFromHostname('Build_Host.Example.COM')).toBe('build-host.example.com');
    expect(nodeNameFromHostname('--x--')).toBe('x');
    expect(nodeNameFromHostname('___')).toBe('node');
    expect(nodeNameFromHostname('a'.repeat(80))).toHaveLength(63);
  });
});
