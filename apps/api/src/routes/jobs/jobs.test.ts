/**
 * Job routes over real Redis and a real store, with node heartbeats registered as agents write
 * them; what the API decides (validation, routing, scheduling, stop/cancel, node-lost) without an
 * agent. Running jobs for real is proven in the agent's and the end-to-end tests.
 */
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES, jobQueueName, nodeQueueName } from '@joblet/queue';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

/** What rnx sends with every request; body-less POST/DELETE are refused without it. */
const MARK = { 'x-joblet-request': '1' };

describe('/v1/jobs', () => {
  let t: TestApi;
  const queues: Queue[] = [];
  const queue = (name: string) => {
    const q = new Queue(name, { connection: t.redis, prefix: t.prefix });
    queues.push(q);
    return q;
  };
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64']);
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await publishFakeRuntime(t, 'multi', '1.0.0', ['amd64', 'arm64']);
    await publishFakeRuntime(t, 'armonly', '1.0.0', ['arm64']);
    await registerNode(t, 'node-a', 'amd64', ['python-3.11@1.0.0']);
    await registerNode(t, 'node-b', 'amd64', []);
    await registerNode(t, 'node-gone', 'amd64', [], 120_000);
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await t.close();
  });

  const submit = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/jobs', payload });

  it('records a job and queues it for any node of the runtime’s arch; env values stay out of the record', async () => {
    const res = await submit({
      command: 'python3',
      args: ['-c', 'print(1)'],
      runtime: 'python-3.11',
      env: { TOKEN: 'secret-value' },
      uploads: [{ path: 'src/main.py', content: Buffer.from('print(2)\n').toString('base64') }],
      limits: { maxMemoryMB: 256, cpuCores: '0-1' },
    });
    expect(res.statusCode).toBe(202);
    const job = res.json();
    expect(job).toMatchObject({
      state: 'QUEUED',
      arch: 'amd64',
      runtime: { ref: 'python-3.11', name: 'python-3.11', version: '1.0.0' },
      env: ['TOKEN'],
      uploads: [{ path: 'src/main.py', bytes: 9 }],
      network: 'none',
    });
    expect(JSON.stringify(job)).not.toContain('secret-value');
    const queued = await Job.fromId(queue(jobQueueName('amd64')), job.id);
    expect(queued?.name).toBe(JOB_NAMES.runJob);
    expect(queued?.data).toEqual({ jobId: job.id });
    const got = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
    expect(got.json().state).toBe('QUEUED');
    const list = (await t.app.inject({ method: 'GET', url: '/v1/jobs' })).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toContain(job.id);
  });

  it('routes a pinned job to the node’s own queue, and refuses nodes that are offline or of the wrong arch', async () => {
    const pinned = (await submit({ command: 'true', runtime: 'multi', node: 'node-b' })).json();
    expect(pinned).toMatchObject({ pinnedNode: 'node-b', arch: 'amd64' });
    expect(await Job.fromId(queue(nodeQueueName('node-b')), pinned.id)).toBeDefined();
    const gone = await submit({ command: 'true', runtime: 'multi', node: 'node-gone' });
    expect(gone.statusCode).toBe(400);
    expect(gone.json().details[0].field).toBe('node');
    // A node whose agent stopped cleanly a moment ago (fresh heartbeat, `stoppedAt` set) is
    // offline at once: its pinned job is refused, never queued for a node that may not return.
    await registerNode(t, 'node-stopped', 'amd64', ['multi@1.0.0'], 0, {
      stoppedAt: new Date().toISOString(),
    });
    const stopped = await submit({ command: 'true', runtime: 'multi', node: 'node-stopped' });
    expect(stopped.statusCode).toBe(400);
    expect(stopped.json().message).toBe('node node-stopped is not online');
    expect(await queue(nodeQueueName('node-stopped')).count()).toBe(0);
    const listed = (await t.app.inject({ method: 'GET', url: '/v1/nodes' })).json();
    expect(listed.nodes.find((n: { name: string }) => n.name === 'node-stopped').online).toBe(
      false,
    );
    const noArm = await submit({ command: 'true', runtime: 'armonly' });
    expect(noArm.statusCode).toBe(409);
    expect(noArm.json().message).toContain(
      'no online node can run armonly@1.0.0: it is built for arm64',
    );
  });

  it('routes by the runtime’s arches once an arm64 node is online: never to a node of an arch it lacks', async () => {
    await registerNode(t, 'node-arm', 'arm64', ['armonly@1.0.0', 'multi@1.0.0']);
    const amdOnly = await submit({ command: 'true', runtime: 'python-3.11', node: 'node-arm' });
    expect(amdOnly.statusCode).toBe(400);
    expect(amdOnly.json().message).toBe(
      'python-3.11@1.0.0 has no arm64 build for node node-arm (built for amd64)',
    );
    expect(amdOnly.json().details).toEqual([{ field: 'node', message: 'arm64 not built' }]);
    const arm = (await submit({ command: 'true', runtime: 'armonly' })).json();
    expect(arm).toMatchObject({ state: 'QUEUED', arch: 'arm64' });
    expect(arm.pinnedNode).toBeUndefined();
    expect(await Job.fromId(queue(jobQueueName('arm64')), arm.id)).toBeDefined();
    const pinned = (await submit({ command: 'true', runtime: 'multi', node: 'node-arm' })).json();
    expect(pinned).toMatchObject({ pinnedNode: 'node-arm', arch: 'arm64' });
    expect(await Job.fromId(queue(nodeQueueName('node-arm')), pinned.id)).toBeDefined();
    const amd = (await submit({ command: 'true', runtime: 'python-3.11' })).json();
    expect(amd).toMatchObject({ arch: 'amd64' });
    expect(await Job.fromId(queue(jobQueueName('amd64')), amd.id)).toBeDefined();
  });

  it('refuses hostile or impossible requests with the field named', async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ command: 'x', runtime: 'nope' }, 404, /runtime not found: nope/],
      [{ command: 'x', runtime: '../../etc' }, 400, /invalid runtime reference/],
      [
        { command: 'x', runtime: 'python-3.11', uploads: [{ path: '../escape', content: '' }] },
        400,
        /uploads\.0\.path/,
      ],
      [
        { command: 'x', runtime: 'python-3.11', uploads: [{ path: '/etc/passwd', content: '' }] },
        400,
        /uploads\.0\.path/,
      ],
      [
        {
          command: 'x',
          runtime: 'python-3.11',
          uploads: [{ path: 'a', content: '', mode: 0o4755 }],
        },
        400,
        /uploads\.0\.mode/,
      ],
      [{ command: 'x', runtime: 'python-3.11', env: { 'BAD-NAME': 'x' } }, 400, /env/],
      [
        { command: 'x', runtime: 'python-3.11', limits: { cpuCores: '0-3;rm' } },
        400,
        /limits\.cpuCores/,
      ],
      [
        { command: 'x', runtime: 'python-3.11', limits: { maxMemoryMB: 10_000_000 } },
        400,
        /limits\.maxMemoryMB/,
      ],
      [{ command: 'x', runtime: 'python-3.11', schedule: 'yesterday' }, 400, /schedule/],
      [{ command: 'x', runtime: 'python-3.11', network: 'Wi-Fi!' }, 400, /network/],
      [
        { command: 'x', runtime: 'python-3.11', network: 'prod' },
        400,
        /network prod does not exist/,
      ],
      [
        { command: 'x', runtime: 'python-3.11', volumes: ['data'] },
        400,
        /no online node has the volume/,
      ],
    ];
    for (const [payload, status, message] of cases) {
      const res = await submit(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(JSON.stringify(res.json()), JSON.stringify(payload)).toMatch(message);
    }
  });

  it('schedules a job as a delayed queue entry, and cancels it', async () => {
    const job = (
      await submit({ command: 'true', runtime: 'python-3.11', schedule: '1hour' })
    ).json();
    expect(job.state).toBe('SCHEDULED');
    expect(Date.parse(job.scheduledFor) - Date.now()).toBeGreaterThan(3500_000);
    const queued = await Job.fromId(queue(jobQueueName('amd64')), job.id);
    expect(await queued?.getState()).toBe('delayed');
    const canceled = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${job.id}/cancel`,
      headers: MARK,
    });
    expect(canceled.json()).toMatchObject({ state: 'CANCELED', reason: 'canceled' });
    expect(await Job.fromId(queue(jobQueueName('amd64')), job.id)).toBeUndefined();
    expect(
      (await t.app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel`, headers: MARK }))
        .statusCode,
    ).toBe(409);
  });

  it('keeps the env and uploads of a job scheduled 300 days ahead until after it is due', async () => {
    const res = await submit({
      command: 'true',
      runtime: 'python-3.11',
      schedule: '300days',
      env: { TOKEN: 'far-future' },
      uploads: [{ path: 'a.txt', content: Buffer.from('later\n').toString('base64') }],
    });
    expect(res.statusCode).toBe(202);
    const job = res.json();
    const dueInS = (Date.parse(job.scheduledFor) - Date.now()) / 1000;
    const ttlS = await t.redis.ttl(t.app.keys.jobUploads(job.id));
    // Past the start (300 days), with the usual week of grace after it.
    expect(ttlS).toBeGreaterThan(dueInS + 7 * 24 * 3600 - 60);
    expect(JSON.parse((await t.redis.get(t.app.keys.jobUploads(job.id)))!)).toMatchObject({
      env: { TOKEN: 'far-future' },
    });
    await t.app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel`, headers: MARK });
  });

  it('stops a queued job before it starts', async () => {
    const job = (await submit({ command: 'true', runtime: 'python-3.11' })).json();
    const stopped = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${job.id}/stop`,
      headers: MARK,
    });
    expect(stopped.json()).toMatchObject({ state: 'STOPPED' });
    expect(await Job.fromId(queue(jobQueueName('amd64')), job.id)).toBeUndefined();
  });

  it('reports a job whose node went silent as FAILED (node lost), not RUNNING forever', async () => {
    const job = (await submit({ command: 'sleep', args: ['100'], runtime: 'python-3.11' })).json();
    await t.app.jobs.jobs.transition(job.id, 'INITIALIZING', { node: 'node-gone' });
    await t.app.jobs.jobs.transition(job.id, 'RUNNING', {
      startedAt: new Date().toISOString(),
    });
    const res = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json();
    expect(res).toMatchObject({ state: 'FAILED', reason: 'node-lost' });
    expect(res.message).toContain('node node-gone stopped answering');
  });

  it('fails a RUNNING job that its live node no longer runs, and leaves one it runs', async () => {
    const started = new Date(Date.now() - 10_000).toISOString();
    const run = async (node: string) => {
      const job = (
        await submit({ command: 'sleep', args: ['100'], runtime: 'python-3.11' })
      ).json();
      await t.app.jobs.jobs.transition(job.id, 'INITIALIZING', { node });
      await t.app.jobs.jobs.transition(job.id, 'RUNNING', { startedAt: started });
      return job.id as string;
    };
    const lost = await run('node-forgot');
    const kept = await run('node-keeps');
    // Heartbeats taken now: one agent no longer has its job (it lost it without an end), one has.
    await registerNode(t, 'node-forgot', 'amd64', [], 0, { runningJobs: [] });
    await registerNode(t, 'node-keeps', 'amd64', [], 0, { runningJobs: [kept] });
    const res = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${lost}` })).json();
    expect(res).toMatchObject({ state: 'FAILED', reason: 'node-lost' });
    expect(res.message).toContain('node node-forgot is up but no longer runs the job');
    const ok = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${kept}` })).json();
    expect(ok.state).toBe('RUNNING');
  });

  it('passes a stop on to a job declared lost (its node may still run it)', async () => {
    const job = (await submit({ command: 'sleep', args: ['100'], runtime: 'python-3.11' })).json();
    await t.app.jobs.jobs.transition(job.id, 'INITIALIZING', { node: 'node-a' });
    await t.app.jobs.jobs.transition(job.id, 'RUNNING', { startedAt: new Date().toISOString() });
    await t.app.jobs.jobs.transition(job.id, 'FAILED', { reason: 'node-lost', message: 'lost' });
    const sub = t.redis.duplicate();
    try {
      const heard = new Promise<string>((resolve) =>
        sub.on('message', (_c, m: string) => resolve(m)),
      );
      await sub.subscribe(t.app.keys.jobStopChannel);
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/jobs/${job.id}/stop`,
        headers: MARK,
      });
      expect(res.statusCode).toBeLessThan(300);
      expect(JSON.parse(await heard)).toEqual({ jobId: job.id });
    } finally {
      sub.disconnect();
    }
  });

  it('streams a job’s output over SSE in order, and a client resuming with Last-Event-ID misses nothing and sees nothing twice', async () => {
    const job = (
      await submit({ command: 'seq', args: ['1', '500'], runtime: 'python-3.11' })
    ).json();
    const store = t.app.jobs.jobs;
    await store.transition(job.id, 'INITIALIZING', { node: 'node-a' });
    await store.transition(job.id, 'RUNNING');
    for (let i = 1; i <= 500; i++)
      await store.event(job.id, { type: 'out', stream: 'stdout', line: String(i) });
    await store.transition(job.id, 'COMPLETED', { exitCode: 0, reason: 'exited' });
    const parse = (body: string) =>
      body
        .split('\n\n')
        .filter((b) => b.includes('data: '))
        .map((b) => ({
          id: /^id: (.*)$/m.exec(b)?.[1] ?? '',
          data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? '{}') as { type: string; line?: string },
        }));
    const all = parse((await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/logs` })).body);
    const lines = all.filter((e) => e.data.type === 'out').map((e) => e.data.line);
    expect(lines).toEqual(Array.from({ length: 500 }, (_, i) => String(i + 1)));
    expect(all.at(-1)?.data.type).toBe('end');
    // A client that saw the first 200 lines reconnects: it gets exactly the rest.
    const cut = all.findIndex((e) => e.data.line === '200');
    const rest = parse(
      (
        await t.app.inject({
          method: 'GET',
          url: `/v1/jobs/${job.id}/logs`,
          headers: { 'last-event-id': all[cut]!.id },
        })
      ).body,
    );
    expect(rest.map((e) => e.id)).toEqual(all.slice(cut + 1).map((e) => e.id));
    expect(rest.filter((e) => e.data.type === 'out').map((e) => e.data.line)[0]).toBe('201');
  });
});
