/**
 * `--cpu-cores` is checked at submit against the CPUs the nodes report in their heartbeats:
 * through the real API over real Redis, nodes registered as their agents write them.
 */
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobQueueName, nodeQueueName } from '@joblet/queue';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

describe('--cpu-cores at submit', () => {
  let t: TestApi;
  const queues: Queue[] = [];
  const queue = (name: string) => {
    const q = new Queue(name, { connection: t.redis, prefix: t.prefix });
    queues.push(q);
    return q;
  };
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await t.close();
  });

  const submit = (payload: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { command: 'true', runtime: 'python-3.11', ...payload },
    });

  it('is refused naming the field and every node’s CPUs when no node has those cores', async () => {
    await registerNode(t, 'two-cores', 'amd64', [], 0, { cpus: '0-1' });
    const res = await submit({ limits: { cpuCores: '0-3' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'BAD_REQUEST',
      message:
        '--cpu-cores 0-3: no online node that can run python-3.11@1.0.0 has CPU 2-3 ' +
        '(two-cores has 0-1); name cores the node has, or leave --cpu-cores out',
      details: [{ field: 'limits.cpuCores' }],
    });
    // Pinned to that node: the same refusal.
    expect((await submit({ limits: { cpuCores: '0-3' }, node: 'two-cores' })).statusCode).toBe(400);
    expect(await t.app.jobs.list(100, 0)).toEqual([]);
  });

  it('runs on the cores a node has; with some nodes lacking them, is pinned to one that has', async () => {
    const fits = await submit({ limits: { cpuCores: '1' } });
    expect(fits.statusCode).toBe(202);
    expect(fits.json().pinnedNode).toBeUndefined();
    expect(await Job.fromId(queue(jobQueueName('amd64')), fits.json().id)).toBeDefined();

    await registerNode(t, 'eight-cores', 'amd64', [], 0, { cpus: '0-7' });
    const big = await submit({ limits: { cpuCores: '0-3' } });
    expect(big.statusCode).toBe(202);
    expect(big.json().pinnedNode).toBe('eight-cores');
    expect(await Job.fromId(queue(nodeQueueName('eight-cores')), big.json().id)).toBeDefined();
  });

  it('does not rule out a node that reports no CPUs (an older agent refuses it itself)', async () => {
    await registerNode(t, 'old-agent', 'amd64', []);
    const res = await submit({ limits: { cpuCores: '0-15' } });
    expect(res.statusCode).toBe(202);
    expect(res.json().pinnedNode).toBe('old-agent');
  });
});
