// The job runner's variables in readAgentEnv (env.ts): volumes, the queue lock, the pids default.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTestKeyPair } from '@joblet/testkit';
import { readAgentEnv } from '../env.js';

describe('job runner configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'job-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const AGENT_TRUSTED_KEYS = writeTestKeyPair(dir).publicKeyFile;

  it('has defaults', () => {
    const c = readAgentEnv({ AGENT_NAME: 'n1', AGENT_ARCH: 'amd64', AGENT_TRUSTED_KEYS });
    expect(c).toMatchObject({
      volumesDir: '/var/lib/joblet/volumes',
      jobLockMs: 30_000,
      jobPidsMax: 4096,
      workDir: '/var/lib/joblet/work',
    });
  });

  it('parses values and names bad ones', () => {
    const c = readAgentEnv({
      AGENT_NAME: 'n1',
      AGENT_ARCH: 'amd64',
      AGENT_VOLUMES_DIR: '/srv/volumes/',
      AGENT_JOB_LOCK_S: '5',
      AGENT_JOB_PIDS_MAX: '100',
      AGENT_TRUSTED_KEYS,
    });
    expect(c).toMatchObject({ volumesDir: '/srv/volumes', jobLockMs: 5000, jobPidsMax: 100 });
    expect(() =>
      readAgentEnv({
        AGENT_NAME: 'n1',
        AGENT_VOLUMES_DIR: 'relative',
        AGENT_JOB_LOCK_S: '0',
        AGENT_JOB_PIDS_MAX: '2',
      }),
    ).toThrow(/AGENT_VOLUMES_DIR: .*\n.*AGENT_JOB_LOCK_S: .*\n.*AGENT_JOB_PIDS_MAX/s);
  });
});
