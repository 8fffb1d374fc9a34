/**
 * Log lines about builds and jobs carry the request id and the build or job id (child loggers),
 * so an operator can follow one request, build or job through the API's log with one filter.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { createApiLogger } from './logger.js';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from './testing.js';

const SPEC = readFileSync(
  new URL('../../../examples/python-3.11/runtime.yaml', import.meta.url),
  'utf8',
);

describe('request and entity ids in the API log', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
  });
  afterAll(() => t.close());

  it('binds reqId to every line of a request and buildId/jobId to lines about them', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n'))
          if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const app = await buildApp({ ...t.farm, logger: createApiLogger('info', sink) });
    try {
      const build = await app.inject({
        method: 'POST',
        url: '/v1/builds',
        headers: { 'x-request-id': 'req-build-1' },
        payload: { spec: SPEC, architectures: ['amd64'] },
      });
      expect(build.statusCode).toBe(202);
      const buildId = build.json().build.id as string;
      await app.inject({
        method: 'POST',
        url: `/v1/builds/${buildId}/cancel`,
        headers: { 'x-request-id': 'req-cancel-1', 'x-joblet-request': '1' },
      });

      await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
      await registerNode(t, 'node-a', 'amd64', ['python-3.11@1.0.0']);
      const job = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { command: 'true', runtime: 'python-3.11' },
      });
      expect(job.statusCode).toBe(202);
      const jobId = job.json().id as string;

      const find = (msg: string) => lines.find((l) => l.msg === msg);
      expect(find('build queued')).toMatchObject({ reqId: 'req-build-1', buildId });
      expect(find('build canceled')).toMatchObject({ reqId: 'req-cancel-1', buildId });
      expect(find('job submitted')).toMatchObject({ jobId, reqId: expect.any(String) });
      // Fastify's own lines carry the same request id.
      expect(lines.filter((l) => l.reqId === 'req-build-1').map((l) => l.msg)).toEqual(
        expect.arrayContaining(['incoming request', 'build queued', 'request completed']),
      );
    } finally {
      await app.close();
    }
  });
});
