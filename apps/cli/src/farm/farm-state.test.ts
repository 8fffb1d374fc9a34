import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import {
  farmPaths,
  readFarmState,
  redactUrl,
  writeFarmState,
  type FarmState,
} from './farm-state.js';

const STATE: FarmState = {
  supervisorPid: 1,
  apiUrl: 'http://127.0.0.1:8080',
  auth: 'token',
  redisUrl: 'redis://:s3cret@127.0.0.1:6390',
  storageUrl: 'file:///var/lib/joblet-farm/store',
  prefix: 'joblet',
  arch: 'amd64',
  startedAt: new Date(0).toISOString(),
  ready: true,
  components: {},
};

describe('farm.json', () => {
  let dir: TempDir | undefined;
  afterEach(async () => dir?.cleanup());

  it('is readable by every local user (their rnx finds the farm) and holds no password', async () => {
    dir = await makeTempDir('farm-state-');
    const { state } = farmPaths(dir.path);
    writeFileSync(`${state}.tmp`, 'left over');
    chmodSync(`${state}.tmp`, 0o600);
    writeFarmState(dir.path, {
      ...STATE,
      storageUrl: 's3://AKIAEXAMPLE:wJalrXUtnFEMI@minio:9000/bucket',
    });
    expect(statSync(state).mode & 0o777).toBe(0o644);
    const text = readFileSync(state, 'utf8');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('wJalrXUtnFEMI');
    expect(readFarmState(dir.path)).toEqual({
      ...STATE,
      redisUrl: 'redis://:***@127.0.0.1:6390',
      storageUrl: 's3://AKIAEXAMPLE:***@minio:9000/bucket',
    });
  });

  it('redacts passwords in every URL form, multi-host ones too', () => {
    expect(redactUrl('redis-sentinel://u:p@s1,s2,s3/master')).toBe(
      'redis-sentinel://u:***@s1,s2,s3/master',
    );
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('file:///var/lib/joblet-farm/store')).toBe(
      'file:///var/lib/joblet-farm/store',
    );
  });
});
