import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTestKeyPair } from '@joblet/testkit';
import { readAgentEnv } from './env.js';
import { JobMirrorError, jobMirrorAllows, jobMirrorEnv } from './job-mirrors.js';

describe('job package mirrors', () => {
  it('hands every job the pip index (trusted when plain http) and the npm registry', () => {
    expect(
      jobMirrorEnv({
        pipIndexUrl: 'http://10.1.2.3:8080/simple/',
        npmRegistry: 'https://npm.lan/',
      }),
    ).toEqual({
      PIP_BREAK_SYSTEM_PACKAGES: '1',
      PIP_INDEX_URL: 'http://10.1.2.3:8080/simple/',
      PIP_TRUSTED_HOST: '10.1.2.3:8080',
      npm_config_registry: 'https://npm.lan/',
    });
    expect(jobMirrorEnv({ pipIndexUrl: 'https://pypi.lan/simple/' })).toEqual({
      PIP_BREAK_SYSTEM_PACKAGES: '1',
      PIP_INDEX_URL: 'https://pypi.lan/simple/',
    });
    // Without mirrors only PEP 668's marker is lifted (a job cannot change its runtime).
    expect(jobMirrorEnv({})).toEqual({ PIP_BREAK_SYSTEM_PACKAGES: '1' });
  });

  it('lets egress jobs reach each mirror at its port only', async () => {
    expect(
      await jobMirrorAllows({
        pipIndexUrl: 'http://10.1.2.3:8080/simple/',
        npmRegistry: 'https://[fd00::7]/',
      }),
    ).toEqual([
      { net: '10.1.2.3', family: 4, port: 8080 },
      { net: 'fd00::7', family: 6, port: 443 },
    ]);
    expect(await jobMirrorAllows({})).toEqual([]);
  });

  it('refuses a mirror whose name does not resolve, naming the variable', async () => {
    const err = await jobMirrorAllows({
      pipIndexUrl: 'http://no-such-mirror.invalid/simple/',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobMirrorError);
    expect((err as Error).message).toMatch(
      /^AGENT_JOB_PIP_INDEX_URL=http:\/\/no-such-mirror\.invalid\/simple\/: cannot resolve no-such-mirror\.invalid/,
    );
  });

  it('is read from AGENT_JOB_PIP_INDEX_URL and AGENT_JOB_NPM_REGISTRY; a non-URL is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-mirrors-'));
    try {
      const base = { AGENT_TRUSTED_KEYS: writeTestKeyPair(dir, 'k').publicKeyFile };
      expect(
        readAgentEnv({ ...base, AGENT_JOB_PIP_INDEX_URL: 'http://10.1.2.3/simple/' }).jobMirrors,
      ).toEqual({ pipIndexUrl: 'http://10.1.2.3/simple/' });
      expect(() => readAgentEnv({ ...base, AGENT_JOB_NPM_REGISTRY: 'npm.lan' })).toThrow(
        /AGENT_JOB_NPM_REGISTRY: an http:\/\/ or https:\/\/ URL/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
