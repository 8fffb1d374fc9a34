/**
 * Bounded job records through the real API over real Redis: arguments, environment and command
 * are refused past what a real command needs (400 naming the field and the sizes), and listings
 * carry summaries, not every job's arguments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_REQUEST_LIMITS } from '@joblet/spec';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../../testing.js';

const KiB = 1024;

describe('job request bounds', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    await registerNode(t, 'node-a', 'amd64', []);
  });
  afterAll(() => t.close());

  const submit = (payload: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { command: 'echo', runtime: 'python-3.11', ...payload },
    });

  it('refuses 4 MiB of arguments with 400 naming the field and both sizes; nothing is stored', async () => {
    const res = await submit({ args: Array.from({ length: 64 }, () => 'a'.repeat(64 * KiB)) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'invalid request body: args: total size 4 MiB exceeds 128 KiB',
      details: [{ field: 'args', message: 'total size 4 MiB exceeds 128 KiB' }],
    });
    expect(await t.redis.zcard(t.app.keys.jobs)).toBe(0);
  });

  it('counts bytes, not characters, and accepts exactly the limit', async () => {
    const limit = JOB_REQUEST_LIMITS.argsTotalBytes;
    expect(
      (await submit({ args: ['a'.repeat(limit / 2), 'b'.repeat(limit / 2)] })).statusCode,
    ).toBe(202);
    // 'é' is two bytes in UTF-8: 65 537 of them are 128 KiB + 2 bytes.
    const over = await submit({ args: ['é'.repeat(limit / 2 + 1)] });
    expect(over.statusCode).toBe(400);
    expect(over.json().message).toBe(
      'invalid request body: args: total size 128 KiB exceeds 128 KiB',
    );
    expect(over.json().details).toEqual([
      { field: 'args', message: 'total size 128 KiB exceeds 128 KiB' },
    ]);
    const tooMany = await submit({ args: Array.from({ length: 1025 }, () => 'x') });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().details[0].field).toBe('args');
  });

  it('bounds the environment: 256 variables and 64 KiB in all', async () => {
    const vars = (n: number, size = 1) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'v'.repeat(size)]));
    expect((await submit({ env: vars(256) })).statusCode).toBe(202);
    const many = await submit({ env: vars(257) });
    expect(many.statusCode).toBe(400);
    expect(many.json().message).toBe('invalid request body: env: 257 variables exceed 256');
    // 3 × 30 KiB values: each under the 32 KiB per value, 90 KiB together.
    const big = await submit({ env: vars(3, 30 * KiB) });
    expect(big.statusCode).toBe(400);
    expect(big.json().details).toEqual([
      { field: 'env', message: 'total size 90 KiB exceeds 64 KiB' },
    ]);
    const name = await submit({ env: { ['N'.repeat(300)]: 'x' } });
    expect(name.statusCode).toBe(400);
  });

  it('bounds the command to 4 KiB (PATH_MAX)', async () => {
    expect((await submit({ command: `/${'c'.repeat(4095)}` })).statusCode).toBe(202);
    const res = await submit({ command: `/${'c'.repeat(4096)}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([{ field: 'command', message: 'at most 4 KiB' }]);
  });

  it('lists summaries (command line cut, counts), and the full record only per job', async () => {
    const args = Array.from({ length: 100 }, (_, i) => `${i}:${'x'.repeat(1000)}`);
    const env = { TOKEN: 'secret-value', MODE: 'ci' };
    const uploads = [{ path: 'a.txt', content: Buffer.from('hello').toString('base64') }];
    const job = (await submit({ args, env, uploads })).json();

    const list = await t.app.inject({ method: 'GET', url: '/v1/jobs?limit=500' });
    expect(list.statusCode).toBe(200);
    const listed = (list.json().jobs as Record<string, unknown>[]).find((j) => j.id === job.id)!;
    expect(listed).toMatchObject({
      id: job.id,
      command: 'echo',
      commandLine: `echo ${args.join(' ')}`.slice(0, 200),
      commandLineTruncated: true,
      args: 100,
      env: 2,
      uploads: { files: 1, bytes: 5 },
      state: 'QUEUED',
    });
    expect(list.body).not.toContain('x'.repeat(300));
    expect(list.body).not.toContain('TOKEN');
    // Every job of the listing (the 128 KiB-argument and 256-variable ones above too): its
    // command (≤ 4 KiB) and about 1 KiB more.
    for (const j of list.json().jobs as unknown[])
      expect(JSON.stringify(j).length).toBeLessThan(JOB_REQUEST_LIMITS.commandBytes + 1024);

    const full = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json();
    expect(full.args).toEqual(args);
    expect(full.env).toEqual(['TOKEN', 'MODE']);
    expect(full.uploads).toEqual([{ path: 'a.txt', bytes: 5 }]);

    const dashboard = (await t.app.inject({ method: 'GET', url: '/v1/dashboard' })).json();
    const row = (dashboard.jobs as Record<string, unknown>[]).find((j) => j.id === job.id)!;
    expect(row).toMatchObject({ args: 100, env: 2, commandLineTruncated: true });
  });
});
