/**
 * Short job ids, as Joblet's `rnx` takes them: every `/v1/jobs/:id…` route accepts a unique prefix
 * of 8+ characters, refuses an ambiguous one with the ids it matches, and a shorter one as bad
 * input. Real Redis and store; records written through the API's own JobStore.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '@joblet/spec';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

/** What rnx sends with every request; body-less POST/DELETE are refused without it. */
const MARK = { 'x-joblet-request': '1' };
/** Two jobs whose ids share their first 9 characters (ids are random; these are written). */
const TWIN_A = 'abcdef01-2222-4000-8000-000000000001';
const TWIN_B = 'abcdef01-3333-4000-8000-000000000002';

describe('job id prefixes', () => {
  let t: TestApi;
  let job: JobRecord;

  beforeAll(async () => {
    t = await startTestApi(['amd64']);
    await publishFakeRuntime(t, 'py', '1.0.0', ['amd64']);
    await registerNode(t, 'node-a', 'amd64', ['py@1.0.0']);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { command: 'sleep', args: ['60'], runtime: 'py', schedule: '1hour' },
    });
    job = res.json();
    for (const id of [TWIN_A, TWIN_B])
      await t.app.jobs.jobs.create({ ...job, id, createdAt: new Date().toISOString() });
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = (url: string) => t.app.inject({ method: 'GET', url });

  it('resolves a unique 8-character prefix (any case) on read, logs, stop and cancel', async () => {
    const short = job.id.slice(0, 8);
    expect((await get(`/v1/jobs/${short}`)).json()).toMatchObject({ id: job.id });
    expect((await get(`/v1/jobs/${job.id.slice(0, 13).toUpperCase()}`)).json().id).toBe(job.id);
    const canceled = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${short}/cancel`,
      headers: MARK,
    });
    expect(canceled.statusCode).toBe(200);
    expect(canceled.json()).toMatchObject({ id: job.id, state: 'CANCELED' });
    const stop = await t.app.inject({
      method: 'POST',
      url: `/v1/jobs/${short}/stop`,
      headers: MARK,
    });
    expect(stop.statusCode).toBe(409);
    expect(stop.json().message).toContain(`job ${job.id} already ended`);
    const logs = await get(`/v1/jobs/${short}/logs`);
    expect(logs.statusCode).toBe(200);
    expect(logs.body).toContain('"state":"CANCELED"');
  });

  it('refuses an ambiguous prefix with the ids it matches; a longer one resolves', async () => {
    const res = await get('/v1/jobs/abcdef01');
    expect(res.statusCode).toBe(409);
    const body = res.json();
    expect(body.code).toBe('CONFLICT');
    expect(body.message).toMatch(/^job id prefix abcdef01 is ambiguous: it matches /);
    expect(body.message).toContain(TWIN_A);
    expect(body.message).toContain(TWIN_B);
    expect(body.message).toContain('give more characters');
    expect((await get('/v1/jobs/abcdef01-3')).json().id).toBe(TWIN_B);
  });

  it('answers 404 for a prefix nobody has and 400 for one under 8 characters or not hex', async () => {
    const none = await get('/v1/jobs/0000ffff');
    expect(none.statusCode).toBe(404);
    expect(none.json().message).toBe('job not found: 0000ffff');
    for (const bad of ['abcdef0', 'abcdef01*', 'zzzzzzzz']) {
      const res = await get(`/v1/jobs/${encodeURIComponent(bad)}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().message, bad).toMatch(/unique prefix of at least 8/);
    }
  });
});
