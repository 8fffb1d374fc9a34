/**
 * `/v1/volumes` with sizes, through the real API over real Redis: `size` as people write it
 * (`10GB`, `512MB`, `1G`) reaches the node's queue in bytes, is kept in the registry and listed;
 * a bad size is a 400 naming `size`; another size for an existing volume is a 409. The node's
 * side (the filesystem that enforces it) is the agent's job-disk.test.ts.
 */
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicateRedis, nodeQueueName } from '@joblet/queue';
import { registerNode, startTestApi, type TestApi } from '../../testing.js';

describe('sized volumes', () => {
  let t: TestApi;
  let agent: Worker;
  const asked: unknown[] = [];
  const call = (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({
      method,
      url,
      headers: { 'x-joblet-request': '1' },
      ...(payload && { payload }),
    });

  beforeAll(async () => {
    t = await startTestApi(['amd64']);
    await registerNode(t, 'node-a', 'amd64', []);
    // The node queue's consumer, standing in for the agent: records what it was asked.
    agent = new Worker(
      nodeQueueName('node-a'),
      (job) => {
        asked.push(job.data);
        return Promise.resolve({ ok: true });
      },
      { connection: duplicateRedis(t.redis, { forWorker: true }), prefix: t.prefix },
    );
  });
  afterAll(async () => {
    await agent?.close();
    await t?.close();
  });

  it('passes the size in bytes to the node, keeps and lists it', async () => {
    const r = await call('POST', '/v1/volumes', { name: 'datasets', size: '10GB' });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ name: 'datasets', node: 'node-a', sizeBytes: 10 * 1024 ** 3 });
    expect(asked.at(-1)).toEqual({ name: 'datasets', sizeBytes: 10 * 1024 ** 3 });
    expect((await call('POST', '/v1/volumes', { name: 'cache', size: '512MB' })).statusCode).toBe(
      201,
    );
    expect((await call('POST', '/v1/volumes', { name: 'plain' })).statusCode).toBe(201);
    expect(asked.at(-1)).toEqual({ name: 'plain' });
    const list = (await call('GET', '/v1/volumes')).json<{ volumes: unknown[] }>();
    expect(list.volumes).toEqual([
      { name: 'cache', node: 'node-a', sizeBytes: 512 * 1024 ** 2 },
      { name: 'datasets', node: 'node-a', sizeBytes: 10 * 1024 ** 3 },
      { name: 'plain', node: 'node-a' },
    ]);
  });

  it('accepts the same size again, refuses another (409), names size for a bad one', async () => {
    expect((await call('POST', '/v1/volumes', { name: 'datasets', size: '10G' })).statusCode).toBe(
      201,
    );
    const other = await call('POST', '/v1/volumes', { name: 'datasets', size: '1G' });
    expect(other.statusCode).toBe(409);
    expect(other.json().message).toBe(
      'volume datasets exists on node-a of 10 GB; remove it first to change its size',
    );
    for (const size of ['10 apples', '1KB', '-1G']) {
      const bad = await call('POST', '/v1/volumes', { name: 'x', size });
      expect(bad.statusCode).toBe(400);
      expect(JSON.stringify(bad.json())).toContain('size');
    }
  });

  it('forgets the size with the volume', async () => {
    expect((await call('DELETE', '/v1/volumes/datasets')).statusCode).toBe(200);
    expect(await t.redis.hget(t.app.keys.volumeSizes('node-a'), 'datasets')).toBeNull();
  });
});
