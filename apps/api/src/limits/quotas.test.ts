/**
 * Per-identity quotas through the real API (`API_AUTH=token`, one token per client) over real
 * Redis: jobs queued or running, volumes, builds queued — a clear 429 naming the quota and the
 * count, shared by replicas, freed when the work ends or fails, never leaked.
 */
import { readFileSync } from 'node:fs';
import { UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicateRedis, nodeQueueName } from '@joblet/queue';
import { buildApp } from '../app.js';
import { DEFAULT_SECURITY } from '../auth/security.js';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../testing.js';

const SPEC = readFileSync(
  new URL('../../../../examples/python-3.11/runtime.yaml', import.meta.url),
  'utf8',
);
const specVersion = (v: string) => SPEC.replace(/^version: .*$/m, `version: ${v}`);

describe('per-identity quotas', () => {
  let t: TestApi;
  let replica: FastifyInstance;
  let agent: Worker;
  const token: Record<'dev1' | 'dev2' | 'maint' | 'admin', { id: string; token: string }> =
    {} as never;
  beforeAll(async () => {
    t = await startTestApi(['amd64'], {
      security: { mode: 'token' },
      quotas: { jobsActive: 2, volumes: 2, buildsQueued: 1 },
    });
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await registerNode(t, 'node-a', 'amd64', []);
    for (const [name, role] of [
      ['dev1', 'developer'],
      ['dev2', 'developer'],
      ['maint', 'maintainer'],
      ['admin', 'admin'],
    ] as const) {
      token[name] = await t.app.tokens.create(
        { role, ttl: '1d' },
        { kind: 'local', subject: 'test', role: 'admin' },
      );
    }
    // A second API replica over the same Redis.
    replica = await buildApp({
      ...t.farm,
      logger: false,
      security: { ...DEFAULT_SECURITY, mode: 'token' },
    });
    // The node's agent, as far as volumes go: creates anything but `fail-*`.
    agent = new Worker(
      nodeQueueName('node-a'),
      (job) =>
        String((job.data as { name: string }).name).startsWith('fail')
          ? Promise.reject(new UnrecoverableError('disk full'))
          : Promise.resolve({ ok: true }),
      { connection: duplicateRedis(t.redis, { forWorker: true }), prefix: t.prefix },
    );
  });
  afterAll(async () => {
    await agent.close();
    await replica.close();
    await t.close();
  });

  const call = (
    who: keyof typeof token,
    method: 'POST' | 'DELETE',
    url: string,
    payload?: Record<string, unknown>,
    app: FastifyInstance = t.app,
  ) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token[who].token}`, 'x-joblet-request': '1' },
      ...(payload && { payload }),
    });
  const job = (who: keyof typeof token, app?: FastifyInstance, extra = {}) =>
    call(who, 'POST', '/v1/jobs', { command: 'true', runtime: 'python-3.11', ...extra }, app);

  it("does not count an admin's work: operators are not clients", async () => {
    for (let i = 0; i < 3; i++) expect((await job('admin')).statusCode).toBe(202);
    expect(await t.redis.keys(`${t.prefix}:quota*${token.admin.id}*`)).toEqual([]);
  });

  it('jobs: 429 beyond the limit naming the quota and the count, per identity, on every replica', async () => {
    const first = (await job('dev1')).json();
    expect((await job('dev1', replica)).statusCode).toBe(202);
    for (const app of [t.app, replica]) {
      const res = await job('dev1', app);
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        message: `quota API_QUOTA_JOBS_ACTIVE exceeded: token:${token.dev1.id} has 2 jobs scheduled, queued or running; the limit is 2`,
        details: [{ field: 'quota', message: 'jobs-active: 2 of 2' }],
      });
    }
    expect((await job('dev2')).statusCode).toBe(202);
    // Refused requests take no slot; a canceled job frees its own.
    expect((await job('dev1', t.app, { network: 'host' })).statusCode).toBe(403);
    expect((await call('dev1', 'POST', `/v1/jobs/${first.id}/cancel`)).statusCode).toBe(200);
    expect((await job('dev1')).statusCode).toBe(202);
    expect((await job('dev1')).statusCode).toBe(429);
  });

  it('jobs: a job ended by its agent frees the slot; a slot whose job vanished is not leaked', async () => {
    const store = t.app.jobs.jobs;
    // dev1 holds 2 (see above): the agent runs one to its end.
    const held = await t.redis.smembers(t.app.keys.quota('jobs-active', `token:${token.dev1.id}`));
    expect(held).toHaveLength(2);
    expect((await job('dev1')).statusCode).toBe(429);
    await store.transition(held[0]!, 'INITIALIZING', { node: 'node-a' });
    await store.transition(held[0]!, 'RUNNING');
    await store.transition(held[0]!, 'COMPLETED', { exitCode: 0, reason: 'exited' });
    const next = (await job('dev1')).json();
    expect(next.state).toBe('QUEUED');
    // A process died between recording an end and freeing the slot (here: the record is gone).
    await t.redis.del(t.app.keys.job(next.id));
    expect((await job('dev1')).statusCode).toBe(202);
    expect((await job('dev1')).statusCode).toBe(429);
  });

  it('volumes: 429 beyond the limit; a failed creation and a removal free the slot', async () => {
    const create = (name: string) => call('dev1', 'POST', '/v1/volumes', { name });
    expect((await create('v1')).statusCode).toBe(201);
    expect((await create('v2')).statusCode).toBe(201);
    expect((await create('v1')).statusCode).toBe(201); // the same volume again: not counted twice
    const over = await create('v3');
    expect(over.statusCode).toBe(429);
    expect(over.json().message).toBe(
      `quota API_QUOTA_VOLUMES exceeded: token:${token.dev1.id} has 2 volumes; the limit is 2`,
    );
    expect((await call('dev2', 'POST', '/v1/volumes', { name: 'w1' })).statusCode).toBe(201);
    expect((await call('dev1', 'DELETE', '/v1/volumes/v2')).statusCode).toBe(200);
    const failed = await create('fail-1');
    expect(failed.statusCode).toBe(503);
    expect((await create('v3')).statusCode).toBe(201);
    expect((await create('v4')).statusCode).toBe(429);
  });

  it('builds: 429 beyond the queued limit; joining an identical build is free; an ended build frees the slot', async () => {
    const build = (spec: string) => call('maint', 'POST', '/v1/builds', { spec });
    const first = await build(specVersion('1.0.1'));
    expect(first.statusCode).toBe(202);
    const firstId = first.json().build.id as string;
    const same = await build(specVersion('1.0.1'));
    expect(same.json()).toMatchObject({ deduplicated: true, build: { id: firstId } });
    const over = await build(specVersion('1.0.2'));
    expect(over.statusCode).toBe(429);
    expect(over.json().message).toBe(
      `quota API_QUOTA_BUILDS_QUEUED exceeded: token:${token.maint.id} has 1 builds queued or running; the limit is 1`,
    );
    // The refused submission left no dedup slot behind: after a cancel it goes through.
    expect((await call('maint', 'POST', `/v1/builds/${firstId}/cancel`)).statusCode).toBe(200);
    const second = await build(specVersion('1.0.2'));
    expect(second.statusCode).toBe(202);
    // A worker finishing the build (BuildStore.finish) frees it too.
    await t.app.buildStore.finish(second.json().build.id as string, 'failed', {
      code: 'HOOK_FAILED',
      message: 'hook failed',
    });
    expect((await build(specVersion('1.0.3'))).statusCode).toBe(202);
  });
});

describe('quotas and the local admin (API_AUTH=none)', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64'], { quotas: { jobsActive: 1, volumes: 1, buildsQueued: 1 } });
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await registerNode(t, 'node-a', 'amd64', []);
  });
  afterAll(() => t.close());

  it('does not count the single-machine operator', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { command: 'true', runtime: 'python-3.11' },
      });
      expect(res.statusCode).toBe(202);
    }
    expect(await t.redis.keys(`${t.prefix}:quota*`)).toEqual([]);
  });
});
