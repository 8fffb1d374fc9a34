import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { farmPaths, readFarmState, writeFarmState, type FarmState } from './farm-state.js';

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

  it('is readable by its owner only, also when an older world-readable file was there', async () => {
    dir = await makeTempDir('farm-state-');
    const { state } = farmPaths(dir.path);
    writeFileSync(`${state}.tmp`, 'left over');
    chmodSync(`${state}.tmp`, 0o644);
    writeFarmState(dir.path, STATE);
    expect(statSync(state).mode & 0o777).toBe(0o600);
    expect(readFarmState(dir.path)).toEqual(STATE);
  });
});
