/** Secrets never reach a log line: tokens, the Redis password, the store's keys. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiLogger, redactUrl } from './logger.js';
import { startTestApi, type TestApi } from './testing.js';
import { buildApp } from './app.js';
import { DEFAULT_SECURITY } from './auth/security.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, logger: createApiLogger('trace', stream) };
}

describe('API logging', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
  });
  afterAll(() => t.close());

  it('redacts credentials in logged objects', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        REDIS_URL: 'redis://:hunter2@redis:6379',
        env: { STORAGE_SECRET_KEY: 'S3CRET', STORAGE_ACCESS_KEY: 'AKIA1' },
        headers: { authorization: 'Bearer jrf_x_y' },
        err: { message: 'ERR invalid password', command: { name: 'auth', args: ['hunter2'] } },
        opts: { password: 'hunter2', token: 'jrf_a_b', secretKey: 'S3CRET', accessKey: 'AKIA1' },
      },
      'config',
    );
    const text = lines.join('');
    for (const secret of ['hunter2', 'S3CRET', 'AKIA1', 'jrf_']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('redactUrl keeps the host and drops the credentials', () => {
    expect(redactUrl('redis://:hunter2@redis:6379/0')).toBe('redis://:redacted@redis:6379/0');
    expect(redactUrl('redis://user:pw@h:1')).toBe('redis://redacted:redacted@h:1');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url')).toBe('[unparseable URL]');
  });

  it('request logs of a token-authenticated API carry no token', async () => {
    const { lines, logger } = capture();
    const app = await buildApp({
      ...t.farm,
      logger,
      security: {
        ...DEFAULT_SECURITY,
        mode: 'token',
        rateLimit: { requests: 0, windowS: 10 },
        streams: { max: 10, perClient: 10 },
      },
    });
    const bad = 'jrf_000000000000_' + 'z'.repeat(43);
    await app.inject({
      method: 'GET',
      url: '/v1/runtimes',
      headers: { authorization: `Bearer ${bad}` },
    });
    await app.inject({
      method: 'GET',
      url: '/v1/runtimes',
      headers: { authorization: 'Bearer nonsense' },
    });
    await app.close();
    const text = lines.join('');
    expect(text).toContain('authentication failed');
    expect(text).not.toContain('z'.repeat(43));
    expect(text).not.toContain('nonsense');
  });
});
