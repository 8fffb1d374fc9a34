/**
 * Nodes as operators manage them, through the real API over real Redis (nodes registered as
 * their agents write them): a cordoned node takes no new job (pinned: refused; unpinned: routed
 * to the others, refused when none is left), uncordon opens it again; a drain's deadline stops
 * the jobs still running there; an offline node is removed with everything the farm kept for it,
 * and the jobs queued for it alone are canceled; an online node or one holding volumes is not.
 */
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore, jobQueueName, nodeQueueName } from '@joblet/queue';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

describe('cordon, drain, uncordon and remove', () => {
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
    await registerNode(t, 'node-a', 'amd64', []);
    await registerNode(t, 'node-b', 'amd64', []);
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await t.close();
  });

  const submit = (payload: Record<string, unknown> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { command: 'true', runtime: 'python-3.11', ...payload },
    });
  const post = (url: string, payload: Record<string, unknown> = {}) =>
    t.app.inject({ method: 'POST', url, payload });
  const del = (node: string) =>
    t.app.inject({
      method: 'DELETE',
      url: `/v1/nodes/${node}`,
      headers: { 'x-joblet-request': '1' },
    });

  it('a cordoned node takes no new job; uncordon lets it take jobs again', async () => {
    const cordoned = await post('/v1/nodes/node-a/cordon', { reason: 'kernel upgrade' });
    expect(cordoned.statusCode).toBe(200);
    expect(cordoned.json()).toMatchObject({
      name: 'node-a',
      schedule: { state: 'cordoned', by: 'local', reason: 'kernel upgrade' },
    });
    const listed = (await t.app.inject({ url: '/v1/nodes' })).json().nodes as {
      name: string;
      schedule?: { state: string };
    }[];
    expect(listed.find((n) => n.name === 'node-a')?.schedule?.state).toBe('cordoned');
    expect(listed.find((n) => n.name === 'node-b')?.schedule).toBeUndefined();

    // Pinned to it: refused, naming the state, who and why, and the way back.
    const pinned = await submit({ node: 'node-a' });
    expect(pinned.statusCode).toBe(409);
    expect(pinned.json().message).toMatch(
      /^node node-a is cordoned \(by local since .+: kernel upgrade\) and takes no new jobs; rnx node uncordon node-a lets it take jobs again$/,
    );
    // Unpinned: pinned to the node that is open (on jobs-amd64 node-a could take it).
    const routed = await submit();
    expect(routed.statusCode).toBe(202);
    expect(routed.json().pinnedNode).toBe('node-b');
    expect(await Job.fromId(queue(nodeQueueName('node-b')), routed.json().id)).toBeDefined();

    // Every node cordoned: refused, naming each.
    expect((await post('/v1/nodes/node-b/cordon')).statusCode).toBe(200);
    const none = await submit();
    expect(none.statusCode).toBe(409);
    expect(none.json().message).toBe(
      'no node can take python-3.11@1.0.0 now: every online node of amd64 is cordoned or ' +
        'draining (node-a: cordoned, node-b: cordoned); rnx node uncordon NAME lets one take jobs again',
    );

    for (const n of ['node-a', 'node-b']) {
      const open = await post(`/v1/nodes/${n}/uncordon`);
      expect(open.statusCode).toBe(200);
      expect(open.json().schedule).toBeUndefined();
    }
    const free = await submit();
    expect(free.statusCode).toBe(202);
    expect(free.json().pinnedNode).toBeUndefined();
    expect(await Job.fromId(queue(jobQueueName('amd64')), free.json().id)).toBeDefined();
  });

  it('refuses a deadline on a cordon, an unknown node, and a bad name, naming each', async () => {
    const deadline = await post('/v1/nodes/node-a/cordon', { deadlineS: 60 });
    expect(deadline.statusCode).toBe(400);
    expect(deadline.json()).toMatchObject({ details: [{ field: 'deadlineS' }] });
    const unknown = await post('/v1/nodes/no-such-node/drain');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toBe('no node no-such-node (rnx node list shows the nodes)');
    expect((await post('/v1/nodes/Bad_Name/cordon')).statusCode).toBe(400);
  });

  it('a drain past its deadline stops the jobs still running on the node', async () => {
    const job = (await submit({ node: 'node-a' })).json<{ id: string }>();
    // What node-a's agent would write: the job runs there.
    const store = new JobStore(t.redis, t.app.keys);
    await store.transition(job.id, 'INITIALIZING', { node: 'node-a' });
    expect(
      await store.transition(job.id, 'RUNNING', {
        node: 'node-a',
        startedAt: new Date().toISOString(),
      }),
    ).toMatchObject({ state: 'RUNNING' });
    await registerNode(t, 'node-a', 'amd64', [], 0, { runningJobs: [job.id] });
    const sub = t.redis.duplicate();
    const stops: string[] = [];
    await sub.subscribe(t.app.keys.jobStopChannel);
    sub.on('message', (_c, m: string) => stops.push((JSON.parse(m) as { jobId: string }).jobId));
    try {
      const draining = await post('/v1/nodes/node-a/drain', { deadlineS: 3600 });
      expect(draining.statusCode).toBe(200);
      expect(draining.json().schedule).toMatchObject({ state: 'draining' });
      // Before the deadline the job may run to its end.
      expect(await t.app.nodeAdmin.stopOverdue()).toEqual([]);
      expect((await post('/v1/nodes/node-a/drain', { deadlineS: 0 })).statusCode).toBe(200);
      expect(await t.app.nodeAdmin.stopOverdue()).toEqual([job.id]);
      for (let i = 0; i < 50 && stops.length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(stops).toEqual([job.id]);
    } finally {
      sub.disconnect();
      await post('/v1/nodes/node-a/uncordon');
      await registerNode(t, 'node-a', 'amd64', []);
    }
  });

  it('removes an offline node with what the farm kept for it, canceling the jobs queued for it alone', async () => {
    await registerNode(t, 'node-gone', 'amd64', ['python-3.11@1.0.0']);
    const queued = (await submit({ node: 'node-gone' })).json<{ id: string }>();
    expect((await post('/v1/nodes/node-gone/cordon')).statusCode).toBe(200);

    const online = await del('node-gone');
    expect(online.statusCode).toBe(409);
    expect(online.json().message).toContain('node node-gone is online');

    // Its agent went away: the heartbeat ages out.
    await registerNode(t, 'node-gone', 'amd64', ['python-3.11@1.0.0'], 120_000);
    await t.redis.sadd(t.app.keys.volumes('node-gone'), 'datasets');
    const withVolume = await del('node-gone');
    expect(withVolume.statusCode).toBe(409);
    expect(withVolume.json().message).toContain('holds the volume(s) datasets');
    await t.redis.del(t.app.keys.volumes('node-gone'));

    const removed = await del('node-gone');
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({
      node: 'node-gone',
      canceledJobs: [queued.id],
      credential: 'none',
    });
    const names = (
      (await t.app.inject({ url: '/v1/nodes' })).json().nodes as { name: string }[]
    ).map((n) => n.name);
    expect(names).not.toContain('node-gone');
    const k = t.app.keys;
    expect(
      await t.redis.exists(
        k.node('node-gone'),
        k.nodeRuntimes('node-gone'),
        k.nodeSchedule('node-gone'),
      ),
    ).toBe(0);
    expect(await t.app.jobs.get(queued.id)).toMatchObject({
      state: 'CANCELED',
      message: 'its node node-gone was removed before it started',
    });
    expect(await Job.fromId(queue(nodeQueueName('node-gone')), queued.id)).toBeUndefined();
    expect((await del('node-gone')).statusCode).toBe(404);
  });
});
