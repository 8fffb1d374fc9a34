import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSigningKeyFile } from '@joblet/artifact';
import { writeTestKeyPair } from '@joblet/testkit';
import { readWorkerEnv } from './env.js';

describe('readWorkerEnv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const key = writeTestKeyPair(dir);
  const other = writeTestKeyPair(dir, 'other');

  it('has defaults for everything but the signing key', () => {
    const c = readWorkerEnv({ WORKER_SIGNING_KEY_FILE: key.privateKeyFile });
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
      buildNetwork: 'isolated',
    });
    expect(['amd64', 'arm64']).toContain(c.arch);
    expect(c.name).toMatch(new RegExp(`-${process.pid}$`));
    expect(c.aptMirror).toBeUndefined();
    expect(c.signingKeys.map((k) => k.keyId)).toEqual([
      readSigningKeyFile(key.privateKeyFile).keyId,
    ]);
  });

  it('refuses to publish (the default) without WORKER_SIGNING_KEY_FILE, naming it', () => {
    for (const env of [{}, { WORKER_PUBLISH: 'true' }, { WORKER_SIGNING_KEY_FILE: '' }]) {
      expect(() => readWorkerEnv(env)).toThrow(
        /^invalid worker configuration:\n {2}WORKER_SIGNING_KEY_FILE: unset, but WORKER_PUBLISH=true: a publishing worker signs every manifest/,
      );
    }
    // Arch-only workers never hold the key.
    expect(readWorkerEnv({ WORKER_PUBLISH: 'false' }).signingKeys).toEqual([]);
  });

  it('loads every key of WORKER_SIGNING_KEY_FILE and refuses a bad one, naming the file', () => {
    const c = readWorkerEnv({
      WORKER_SIGNING_KEY_FILE: `${key.privateKeyFile}, ${other.privateKeyFile}`,
    });
    expect(c.signingKeys).toHaveLength(2);
    const bad = (file: string) => () => readWorkerEnv({ WORKER_SIGNING_KEY_FILE: file });
    expect(bad(join(dir, 'missing.pem'))).toThrow(
      `WORKER_SIGNING_KEY_FILE: cannot read ${join(dir, 'missing.pem')} (ENOENT)`,
    );
    expect(bad(key.publicKeyFile)).toThrow(
      `WORKER_SIGNING_KEY_FILE: ${key.publicKeyFile} is not a PEM private key`,
    );
    expect(bad('signing.pem')).toThrow(
      'WORKER_SIGNING_KEY_FILE: signing.pem is not an absolute path',
    );
    // Set but not publishing: still checked, so a broken file is found before it is needed.
    expect(() =>
      readWorkerEnv({ WORKER_PUBLISH: 'false', WORKER_SIGNING_KEY_FILE: key.publicKeyFile }),
    ).toThrow('WORKER_SIGNING_KEY_FILE');
  });

  it('reads every variable', () => {
    const c = readWorkerEnv({
      WORKER_ARCH: 'arm64',
      WORKER_CONCURRENCY: '2',
      WORKER_PUBLISH: 'false',
      BUILD_APT_MIRROR: 'http://mirror.example/debian/',
      BUILD_PIP_INDEX_URL: 'http://127.0.0.1:3141/simple/',
      WORKER_BUILD_TIMEOUT_S: '600',
      WORKER_BUILD_NETWORK: 'host',
      STORAGE_URL: 's3://bucket?endpoint=http://127.0.0.1:9000',
    });
    expect(c).toMatchObject({
      arch: 'arm64',
      concurrency: 2,
      publish: false,
      aptMirror: 'http://mirror.example/debian',
      pipIndexUrl: 'http://127.0.0.1:3141/simple/',
      buildTimeoutS: 600,
      buildNetwork: 'host',
    });
    expect(() => readWorkerEnv({ WORKER_PUBLISH: 'false', WORKER_BUILD_NETWORK: 'none' })).toThrow(
      /WORKER_BUILD_NETWORK/,
    );
  });

  it('reads WORKER_BUILD_DNS as a list of addresses, none on loopback', () => {
    const dns = (v: string) => readWorkerEnv({ WORKER_PUBLISH: 'false', WORKER_BUILD_DNS: v });
    expect(dns('10.0.0.2, 2001:db8::53').buildDns).toEqual(['10.0.0.2', '2001:db8::53']);
    expect(readWorkerEnv({ WORKER_PUBLISH: 'false' }).buildDns).toBeUndefined();
    for (const bad of ['127.0.0.11', 'dns.example', '10.0.0.2,::1']) {
      expect(() => dns(bad), bad).toThrow(/WORKER_BUILD_DNS: comma-separated IP addresses/);
    }
  });

  it('reads BUILD_TOOLCHAIN_MIRRORS per project and names a bad one', () => {
    const c = readWorkerEnv({
      WORKER_PUBLISH: 'false',
      BUILD_TOOLCHAIN_MIRRORS: 'python-build-standalone=http://mirror.lan/pbs/,go=https://m/go',
    });
    expect(c.toolchainMirrors).toEqual({
      'python-build-standalone': 'http://mirror.lan/pbs',
      go: 'https://m/go',
    });
    expect(readWorkerEnv({ WORKER_PUBLISH: 'false' }).toolchainMirrors).toBeUndefined();
    expect(() =>
      readWorkerEnv({ WORKER_PUBLISH: 'false', BUILD_TOOLCHAIN_MIRRORS: 'cpython=http://m' }),
    ).toThrow(/BUILD_TOOLCHAIN_MIRRORS: "cpython=http:\/\/m" is not project=URL/);
  });

  it('treats empty values as unset', () => {
    const env = { BUILD_APT_MIRROR: '', WORKER_CONCURRENCY: '', WORKER_PUBLISH: 'false' };
    expect(readWorkerEnv(env).concurrency).toBe(1);
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
