import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrustedKeyFile } from '@joblet/artifact';
import { writeTestKeyPair } from '@joblet/testkit';
import { nodeNameFromHostname } from '@joblet/spec';
import { readAgentEnv } from './env.js';

describe('readAgentEnv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const current = writeTestKeyPair(dir, 'current');
  const next = writeTestKeyPair(dir, 'next');
  const AGENT_TRUSTED_KEYS = current.publicKeyFile;

  it('has defaults for everything but the trusted keys', () => {
    const c = readAgentEnv({ AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS });
    expect(c).toMatchObject({
      name: 'n1',
      arch: 'amd64',
      labels: {},
      // As many jobs without limits as the cores hold: a tenth of a core each.
      capacity: availableParallelism() * 10,
      resources: { defaultCpuPercent: 10, defaultMemoryBytes: 64 * 1024 * 1024 },
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'joblet',
      runtimesDir: '/opt/joblet/runtimes',
      heartbeatIntervalMs: 5000,
      reconcileIntervalMs: 60_000,
      minFreeBytes: 1024 * 1024 * 1024,
      logLevel: 'info',
    });
    expect(c.trustedKeys.map((k) => k.keyId)).toEqual([
      readTrustedKeyFile(current.publicKeyFile).keyId,
    ]);
  });

  it('reads what jobs reserve (admission) and derives the default capacity from it', () => {
    const env = { AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS };
    const c = readAgentEnv({
      ...env,
      AGENT_JOB_CPU_PERCENT: '50',
      AGENT_JOB_MEMORY_MB: '256',
      AGENT_MEMORY_MB: '2048',
    });
    expect(c.capacity).toBe(availableParallelism() * 2);
    expect(c.resources).toEqual({
      defaultCpuPercent: 50,
      defaultMemoryBytes: 256 * 1024 * 1024,
      memoryBytes: 2048 * 1024 * 1024,
    });
    expect(() => readAgentEnv({ ...env, AGENT_JOB_CPU_PERCENT: '0' })).toThrow(
      /AGENT_JOB_CPU_PERCENT/,
    );
  });

  it('takes AGENT_ARCH=arm64 on any host and AGENT_REGISTER_BINFMT as a flag (default off)', () => {
    const env = { AGENT_NAME: 'n1', AGENT_ARCH: 'arm64', AGENT_TRUSTED_KEYS };
    expect(readAgentEnv(env)).toMatchObject({ arch: 'arm64', registerBinfmt: false });
    expect(readAgentEnv({ ...env, AGENT_REGISTER_BINFMT: 'true' }).registerBinfmt).toBe(true);
    expect(() => readAgentEnv({ ...env, AGENT_REGISTER_BINFMT: 'maybe' })).toThrow(
      /AGENT_REGISTER_BINFMT/,
    );
  });

  it('reads AGENT_EGRESS_DNS as a list of addresses, none on loopback', () => {
    const env = { AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS };
    expect(readAgentEnv(env).egressDns).toBeUndefined();
    expect(readAgentEnv({ ...env, AGENT_EGRESS_DNS: '10.0.0.2, 10.0.0.3' }).egressDns).toEqual([
      '10.0.0.2',
      '10.0.0.3',
    ]);
    for (const bad of ['127.0.0.11', 'dns.example']) {
      expect(() => readAgentEnv({ ...env, AGENT_EGRESS_DNS: bad }), bad).toThrow(
        /AGENT_EGRESS_DNS: comma-separated IP addresses, none on loopback/,
      );
    }
  });

  it('runs no network=host jobs unless AGENT_ALLOW_HOST_NETWORK says so', () => {
    const env = { AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS };
    expect(readAgentEnv(env).allowHostNetwork).toBe(false);
    expect(readAgentEnv({ ...env, AGENT_ALLOW_HOST_NETWORK: 'true' }).allowHostNetwork).toBe(true);
    expect(readAgentEnv({ ...env, AGENT_ALLOW_HOST_NETWORK: 'false' }).allowHostNetwork).toBe(
      false,
    );
    expect(() => readAgentEnv({ ...env, AGENT_ALLOW_HOST_NETWORK: 'sure' })).toThrow(
      /AGENT_ALLOW_HOST_NETWORK/,
    );
  });

  it('sizes /work: 1024 MB by default, at most 65536, 2 made ahead; bad values named', () => {
    const env = { AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS };
    expect(readAgentEnv(env).workDisks).toEqual({ defaultMB: 1024, maxMB: 65_536, pool: 4 });
    expect(readAgentEnv({ ...env, AGENT_JOB_DISK_MB: '0' }).workDisks?.defaultMB).toBe(0);
    expect(() =>
      readAgentEnv({ ...env, AGENT_JOB_DISK_MB: '2048', AGENT_JOB_DISK_MAX_MB: '1024' }),
    ).toThrow(/AGENT_JOB_DISK_MB: 2048 is more than AGENT_JOB_DISK_MAX_MB \(1024\)/);
    expect(() => readAgentEnv({ ...env, AGENT_JOB_DISK_MB: '4' })).toThrow(
      /AGENT_JOB_DISK_MB: at least 8/,
    );
    expect(() => readAgentEnv({ ...env, AGENT_JOB_DISK_POOL: 'many' })).toThrow(
      /AGENT_JOB_DISK_POOL/,
    );
  });

  it('refuses to start without AGENT_TRUSTED_KEYS (secure by default), naming it', () => {
    for (const value of [undefined, '', ' , ']) {
      expect(() =>
        readAgentEnv({ AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS: value }),
      ).toThrow(
        /^invalid agent configuration:\n {2}AGENT_TRUSTED_KEYS: unset: the agent installs only artifacts signed by a key it trusts/,
      );
    }
  });

  it('loads every key of AGENT_TRUSTED_KEYS (a rotation) and refuses a bad one, naming it', () => {
    const env = (v: string) => ({ AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS: v });
    const both = readAgentEnv(env(`${current.publicKeyFile}, ${next.publicKeyFile}`));
    expect(both.trustedKeys.map((k) => k.keyId)).toEqual([
      readTrustedKeyFile(current.publicKeyFile).keyId,
      readTrustedKeyFile(next.publicKeyFile).keyId,
    ]);
    const missing = join(dir, 'missing.pub.pem');
    expect(() => readAgentEnv(env(`${current.publicKeyFile},${missing}`))).toThrow(
      `AGENT_TRUSTED_KEYS: cannot read ${missing} (ENOENT)`,
    );
    // The private key never belongs on a node.
    expect(() => readAgentEnv(env(current.privateKeyFile))).toThrow(
      `AGENT_TRUSTED_KEYS: ${current.privateKeyFile} is a private key; agents take the public key only`,
    );
    expect(() => readAgentEnv(env('keys/current.pub.pem'))).toThrow(
      'AGENT_TRUSTED_KEYS: keys/current.pub.pem is not an absolute path',
    );
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
      AGENT_TRUSTED_KEYS,
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
