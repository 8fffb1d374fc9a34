/**
 * Jobs without a runtime, over real Redis and a real store: the farm's own default runtime is
 * built on first need (a real build flow is queued; the 409 names it, and a second job joins the
 * same build), used once published, and an operator's choice that is not published is a 404
 * naming API_DEFAULT_RUNTIME.
 */
import { Job, Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { buildQueueName, childJobId } from '@joblet/queue';
import { DEFAULT_RUNTIME_BUILDING, DEFAULT_RUNTIME_NAME } from '@joblet/spec';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

const apis: TestApi[] = [];
afterAll(async () => {
  for (const t of apis) await t.close();
});

async function api(defaultRuntime?: string): Promise<TestApi> {
  const t = await startTestApi(['amd64'], defaultRuntime ? { defaultRuntime } : {});
  apis.push(t);
  await registerNode(t, 'node-a', 'amd64', []);
  return t;
}

const submit = (t: TestApi, payload: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/v1/jobs', payload });

describe('jobs without --runtime', () => {
  it('start the build of the farm’s own default runtime on first need, once', async () => {
    const t = await api();
    const first = await submit(t, { command: '/bin/sh', args: ['-c', 'echo hi'] });
    expect(first.statusCode).toBe(409);
    const body = first.json();
    expect(body.message).toContain(`default runtime ${DEFAULT_RUNTIME_NAME} is being built`);
    const issue = body.details[0];
    expect(issue.field).toBe('runtime');
    const buildId = /([0-9a-f-]{36})$/.exec(issue.message)?.[1];
    expect(issue.message.startsWith(DEFAULT_RUNTIME_BUILDING)).toBe(true);
    const build = (await t.app.inject({ method: 'GET', url: `/v1/builds/${buildId}` })).json();
    expect(build).toMatchObject({ name: DEFAULT_RUNTIME_NAME, arches: ['amd64'] });
    const q = new Queue(buildQueueName('amd64'), { connection: t.redis, prefix: t.prefix });
    try {
      const child = await Job.fromId(q, childJobId(buildId!, 'amd64'));
      expect(child?.data.specText).toContain('language: debian');
    } finally {
      await q.close();
    }
    // A second job while it builds joins the same build.
    const second = (await submit(t, { command: 'true' })).json();
    expect(second.details[0].message).toBe(issue.message);
  });

  it('run in the default runtime once it is published, recorded under its reference', async () => {
    const t = await api();
    await publishFakeRuntime(t, DEFAULT_RUNTIME_NAME, '1.0.0', ['amd64']);
    const res = await submit(t, { command: 'true' });
    expect(res.statusCode).toBe(202);
    expect(res.json().runtime).toEqual({
      ref: DEFAULT_RUNTIME_NAME,
      name: DEFAULT_RUNTIME_NAME,
      version: '1.0.0',
    });
  });

  it('name API_DEFAULT_RUNTIME when the operator’s choice is not published', async () => {
    const t = await api('python-3.11');
    const res = await submit(t, { command: 'true' });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toContain('python-3.11 (API_DEFAULT_RUNTIME) is not published');
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    expect((await submit(t, { command: 'true' })).json().runtime.ref).toBe('python-3.11');
  });
});
