/**
 * The worker keeps its pod's deletion cost in step with its running builds, patching its own pod
 * through the API server over TLS with its service account token — against a stand-in API server
 * (HTTPS, a certificate of its own CA) that records the patches; refusals are logged, not thrown.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@joblet/logging';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { DELETION_COST_ANNOTATION, keepPodDeletionCost } from './pod-deletion-cost.js';

interface Patch {
  method: string;
  url: string;
  auth: string | undefined;
  type: string | undefined;
  body: { metadata: { annotations: Record<string, string> } };
}

describe('pod deletion cost', () => {
  let tmp: TempDir;
  let server: Server;
  let status = 200;
  const patches: Patch[] = [];
  const costs = () => patches.map((p) => p.body.metadata.annotations[DELETION_COST_ANNOTATION]);

  beforeAll(async () => {
    tmp = await makeTempDir('pod-cost-');
    const key = join(tmp.path, 'tls.key');
    const cert = join(tmp.path, 'ca.crt');
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=kubernetes',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ]); // prettier-ignore
    expect(r.status, r.stderr.toString()).toBe(0);
    writeFileSync(join(tmp.path, 'token'), 'sa-token\n');
    server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        patches.push({
          method: req.method!,
          url: req.url!,
          auth: req.headers.authorization,
          type: req.headers['content-type'],
          body: JSON.parse(text) as Patch['body'],
        });
        res.statusCode = status;
        res.end(status === 200 ? '{}' : '{"reason":"Forbidden"}');
      });
    });
    await new Promise<void>((r2) => server.listen(0, '127.0.0.1', r2));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await tmp.cleanup();
  });

  const start = (running: () => number) =>
    keepPodDeletionCost({
      pod: 'joblet-worker-amd64-7d9f',
      namespace: 'joblet-farm',
      running,
      log: createLogger({ name: 'test', level: 'silent' }),
      apiServer: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      tokenFile: join(tmp.path, 'token'),
      caFile: join(tmp.path, 'ca.crt'),
      intervalMs: 20,
    });

  it('is 0 idle, 1000 per running build, and back to 0 when the worker stops', async () => {
    let builds = 0;
    const stop = start(() => builds);
    await vi.waitFor(() => expect(costs()).toEqual(['0']));
    builds = 1;
    await vi.waitFor(() => expect(costs()).toEqual(['0', '1000']));
    builds = 2;
    await vi.waitFor(() => expect(costs()).toEqual(['0', '1000', '2000']));
    await stop();
    expect(costs()).toEqual(['0', '1000', '2000', '0']);
    expect(patches[0]).toMatchObject({
      method: 'PATCH',
      url: '/api/v1/namespaces/joblet-farm/pods/joblet-worker-amd64-7d9f',
      auth: 'Bearer sa-token',
      type: 'application/merge-patch+json',
    });
  });

  it('logs a refusal (no RBAC) and tries again, without throwing', async () => {
    patches.length = 0;
    status = 403;
    const stop = start(() => 1);
    await vi.waitFor(() => expect(patches.length).toBeGreaterThanOrEqual(2));
    status = 200;
    await stop();
    expect(costs().at(-1)).toBe('0');
  });
});
