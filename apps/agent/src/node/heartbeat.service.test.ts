import { afterEach, describe, expect, it } from 'vitest';
import { NODE_OFFLINE_AFTER_MS, NodeInfo } from '@joblet/spec';
import { silentLogger } from '@joblet/logging';
import { createAgent } from '../agent.js';
import { HeartbeatService } from './heartbeat.service.js';
import { makeWorld, waitFor, type World } from '../test-support.js';

let w: World | undefined;
afterEach(async () => {
  await w?.cleanup();
  w = undefined;
});

async function nodeInfo(world: World, name: string) {
  const raw = await world.redis.get(world.keys.node(name));
  const json = JSON.parse(raw ?? 'null') as Record<string, unknown>;
  return { info: NodeInfo.parse(json), stoppedAt: json.stoppedAt };
}

describe('heartbeat', () => {
  it('registers the node with arch, labels, capacity and disk; stops advancing after stop', async () => {
    w = await makeWorld();
    const world = w;
    const a = createAgent(world.config('hb-node', { labels: { gpu: 'none', zone: 'a' } }), {
      nodeQueue: false,
    });
    await a.start();
    const first = await nodeInfo(world, 'hb-node');
    expect(first.info).toMatchObject({
      name: 'hb-node',
      arch: 'amd64',
      labels: { gpu: 'none', zone: 'a' },
      capacity: 2,
      agentVersion: '0.1.0',
      runtimesDir: a.config.runtimesDir,
    });
    expect(first.info.disk?.freeBytes).toBeGreaterThan(0);
    expect(first.info.disk?.totalBytes).toBeGreaterThanOrEqual(first.info.disk!.freeBytes);
    expect(await world.redis.sismember(world.keys.nodes, 'hb-node')).toBe(1);
    const later = await waitFor(async () => {
      const n = await nodeInfo(world, 'hb-node');
      return n.info.lastHeartbeat > first.info.lastHeartbeat ? n : undefined;
    }, 'a second heartbeat');
    expect(Date.now() - Date.parse(later.info.lastHeartbeat)).toBeLessThan(NODE_OFFLINE_AFTER_MS);

    await a.stop();
    const final = await nodeInfo(world, 'hb-node');
    expect(typeof final.stoppedAt).toBe('string');
    await new Promise((r) => setTimeout(r, 600)); // three intervals
    const after = await nodeInfo(world, 'hb-node');
    expect(after.info.lastHeartbeat).toBe(final.info.lastHeartbeat);
    // Still listed: the API shows it offline once the heartbeat ages out, never forgets it.
    expect(await world.redis.sismember(world.keys.nodes, 'hb-node')).toBe(1);
  });
});

describe('heartbeat: host networking', () => {
  it('reports AGENT_ALLOW_HOST_NETWORK: false unless the operator set it', async () => {
    w = await makeWorld();
    const world = w;
    const raw = async (name: string) =>
      JSON.parse((await world.redis.get(world.keys.node(name)))!) as Record<string, unknown>;
    for (const [name, allow] of [
      ['closed', undefined],
      ['open', true],
    ] as const) {
      const a = createAgent(world.config(name, allow ? { allowHostNetwork: allow } : {}), {
        nodeQueue: false,
        jobs: false,
      });
      await a.start();
      expect((await raw(name)).allowHostNetwork, name).toBe(allow ?? false);
      await a.stop();
    }
  });
});

describe('heartbeat: running jobs', () => {
  it('lists the jobs running on the node as of the heartbeat', async () => {
    w = await makeWorld();
    const world = w;
    let running = ['job-a', 'job-b'];
    const hb = new HeartbeatService({
      redis: world.redis,
      keys: world.keys,
      log: silentLogger(),
      name: 'jobs-node',
      arch: 'amd64',
      labels: {},
      capacity: 2,
      agentVersion: 'test',
      runtimesDir: world.dir('runtimes'),
      allowHostNetwork: false,
      intervalMs: 100,
      runningJobs: () => running,
    });
    await hb.start();
    expect((await nodeInfo(world, 'jobs-node')).info.runningJobs).toEqual(['job-a', 'job-b']);
    running = ['job-b'];
    await waitFor(
      async () => (await nodeInfo(world, 'jobs-node')).info.runningJobs?.length === 1 || undefined,
      'a heartbeat without job-a',
    );
    await hb.stop();
  });
});
