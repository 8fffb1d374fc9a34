import { readFileSync } from 'node:fs';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueueName, createRedis } from '@joblet/queue';
import { indexKey } from '@joblet/storage';
import { startTestApi, type TestApi } from '../../testing.js';

const example = (name: string) =>
  readFileSync(new URL(`../../../../../examples/${name}/runtime.yaml`, import.meta.url), 'utf8');

describe('POST /v1/runtimes/validate', () => {
  let t: TestApi;
  let worker: Worker;
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64']);
    // A real (idle) amd64 worker, so the server can report live workers per arch.
    worker = new Worker(buildQueueName('amd64'), () => Promise.resolve(), {
      connection: createRedis({ url: 'redis://127.0.0.1:6379', forWorker: true }),
      prefix: t.prefix,
    });
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close(true);
    await t.close();
  });

  const post = (payload: unknown) =>
    t.app.inject({ method: 'POST', url: '/v1/runtimes/validate', payload: payload as object });

  it('accepts a guide example and summarizes it, with live workers per arch', async () => {
    const res = await post({ spec: example('python-3.11-ml') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.valid).toBe(true);
    expect(body.summary).toMatchObject({
      name: 'python-3.11-ml',
      version: '1.0.0',
      language: 'python',
    });
    expect(body.server.workers).toEqual({ amd64: 1, arm64: 0 });
    expect(body.server.exists).toBe(false);
    // arm64 has no worker: the server says so.
    expect(body.warnings.map((w: { code: string }) => w.code)).toContain('NO_WORKERS');
  });

  it('reports every error with file:line:column and path, under the submitted file name', async () => {
    const spec =
      'schema_version: "1.0"\nname: Bad_Name\nversion: 1.0.0\nbase:\n  language: pyhton\n  version: "3.11"\npipp: [x]\n';
    const res = await post({ spec, filename: 'my.yaml' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.valid).toBe(false);
    const byPath = Object.fromEntries(body.errors.map((e: { path: string }) => [e.path, e]));
    expect(byPath.name).toMatchObject({ file: 'my.yaml', line: 2, column: 7 });
    expect(byPath['base.language']).toMatchObject({ line: 5, column: 13 });
    expect(byPath['base.language'].message).toContain('did you mean "python"');
    expect(byPath.pipp).toMatchObject({ line: 7, column: 1 });
  });

  it('makes a base the server catalog lacks an error (offline it is a warning)', async () => {
    const spec = example('python-3.12-custom').replace('version: "3.12"', 'version: "3.8"');
    const body = (await post({ spec })).json();
    expect(body.valid).toBe(false);
    expect(JSON.stringify(body.errors)).toMatch(/3\.8.*available: 3\.9, 3\.10, 3\.11, 3\.12/);
  });

  it('says when name@version already exists', async () => {
    await t.store.putJson(indexKey('python-3.11-ml', '1.0.0'), { any: 'entry' });
    const body = (await post({ spec: example('python-3.11-ml') })).json();
    expect(body.server.exists).toBe(true);
    expect(body.warnings.map((w: { code: string }) => w.code)).toContain('ALREADY_EXISTS');
    await t.store.delete(indexKey('python-3.11-ml', '1.0.0'));
  });

  it('names the field of a malformed request', async () => {
    const res = await post({ specc: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(res.json().details[0].field).toBe('spec');
    const badName = await post({ spec: 'x', filename: '../etc/passwd' });
    expect(badName.statusCode).toBe(400);
    expect(badName.json().details[0].field).toBe('filename');
  });

  it('refuses bodies that are not JSON or too large, without a 500', async () => {
    const notJson = await t.app.inject({
      method: 'POST',
      url: '/v1/runtimes/validate',
      headers: { 'content-type': 'application/json' },
      payload: '{"spec": ',
    });
    expect(notJson.statusCode).toBe(400);
    const huge = await post({ spec: 'a'.repeat(2 * 1024 * 1024) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('reports a spec over 256 KiB as a diagnostic, not a crash', async () => {
    const body = (await post({ spec: `# ${'x'.repeat(300 * 1024)}\n` })).json();
    expect(body.valid).toBe(false);
    expect(body.errors[0].code).toBe('TOO_LARGE');
  });
});
