/**
 * The hostile suite's attacks on the API itself (registered by hostile.e2e.test.ts on its farm,
 * whose API_QUOTA_VOLUMES is 1): requests over HTTP to the farm's real API, as a process on the
 * host without the token, as a web page (a re-pointed DNS name, a form or body-less POST) and as
 * a `developer` asking for more than a real command needs or than its quota.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Farm, RnxResult } from './farm-fixture.js';

interface Reply {
  status: number;
  body: { code?: string; message?: string; details?: { field: string; message: string }[] };
}

/** One request to the farm's API with exactly these headers (Host included). */
function call(
  farm: Farm,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${farm.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const KiB = 1024;

export function apiAttacks(o: {
  farm: () => Farm;
  devToken: () => string;
  dev: (args: string[]) => Promise<RnxResult>;
  runtime: string;
}) {
  const bearer = () => ({ authorization: `Bearer ${o.devToken()}` });
  const jobIds = async () => {
    const r = await call(o.farm(), 'GET', '/v1/jobs', bearer());
    return (r.body as { jobs: { id: string }[] }).jobs.map((j) => j.id).sort();
  };

  describe('attacks on the API', () => {
    it('without credentials: 401, for a read and for a stop', async () => {
      const read = await call(o.farm(), 'GET', '/v1/jobs', {});
      expect(read.status).toBe(401);
      expect(read.body.code).toBe('UNAUTHENTICATED');
      const stop = await call(
        o.farm(),
        'POST',
        '/v1/jobs/00000000-0000-4000-8000-000000000000/stop',
        { 'x-joblet-request': '1' },
      );
      expect(stop.status).toBe(401);
    });

    it('a web page on a re-pointed DNS name (another Host) is refused: 403 naming the Host', async () => {
      const port = new URL(o.farm().url).port;
      const r = await call(o.farm(), 'GET', '/v1/jobs', {
        ...bearer(),
        host: `farm.attacker.example:${port}`,
      });
      expect(r.status).toBe(403);
      expect(r.body.message).toContain(
        `Host "farm.attacker.example:${port}" is not a name of this API`,
      );
      expect(r.body.message).toContain('API_ALLOWED_HOSTS');
    });

    it('a cross-site form or body-less POST cannot stop a job: 403 naming the header; the job runs on', async () => {
      const started = await o.dev([
        'job',
        'run',
        `--runtime=${o.runtime}`,
        '--json',
        'sleep',
        '600',
      ]);
      expect(started.code, started.stderr).toBe(0);
      const id = (JSON.parse(started.stdout) as { id: string }).id;
      const path = `/v1/jobs/${id}/stop`;
      const forged = [
        await call(o.farm(), 'POST', path, { ...bearer(), 'sec-fetch-site': 'cross-site' }),
        await call(o.farm(), 'POST', path, { ...bearer(), 'content-type': 'text/plain' }, '{}'),
        await call(
          o.farm(),
          'POST',
          path,
          { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
          'a=1',
        ),
      ];
      for (const r of forged) {
        expect(r.status).toBe(403);
        expect(r.body.message).toMatch(/^POST requests need the header X-Joblet-Request: 1/);
      }
      const status = await o.dev(['job', 'status', id, '--json']);
      expect((JSON.parse(status.stdout) as { state: string }).state).not.toBe('STOPPED');
      const stop = await o.dev(['job', 'stop', id]);
      expect(stop.code, stop.stderr).toBe(0);
    });

    it('token errors do not tell which token ids exist: unknown id and wrong secret read alike', async () => {
      const [, id = '', secret = ''] = /^jrf_([a-z0-9]+)_(\S+)$/.exec(o.devToken()) ?? [];
      const other = (s: string) => s.slice(0, -1) + (s.endsWith('a') ? 'b' : 'a');
      const wrongSecret = await call(o.farm(), 'GET', '/v1/jobs', {
        authorization: `Bearer jrf_${id}_${other(secret)}`,
      });
      const unknownId = await call(o.farm(), 'GET', '/v1/jobs', {
        authorization: `Bearer jrf_${other(id)}_${secret}`,
      });
      expect(wrongSecret.status).toBe(401);
      expect(unknownId.status).toBe(401);
      expect(unknownId.body.message).toBe(wrongSecret.body.message);
      expect(unknownId.body.code).toBe(wrongSecret.body.code);
      expect(JSON.stringify(unknownId.body)).not.toContain(other(id));
    });

    it('a job with 4 MiB of args or an oversize env is refused with 400 naming the field; nothing is stored', async () => {
      const before = await jobIds();
      const submit = (extra: Record<string, unknown>) =>
        call(
          o.farm(),
          'POST',
          '/v1/jobs',
          { ...bearer(), 'content-type': 'application/json' },
          JSON.stringify({ command: 'echo', runtime: o.runtime, ...extra }),
        );
      const args = await submit({ args: Array.from({ length: 64 }, () => 'a'.repeat(64 * KiB)) });
      expect(args.status).toBe(400);
      expect(args.body.message).toBe(
        'invalid request body: args: total size 4 MiB exceeds 128 KiB',
      );
      expect(args.body.details?.[0]?.field).toBe('args');
      const env = await submit({
        env: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`V${i}`, 'v'.repeat(KiB)])),
      });
      expect(env.status).toBe(400);
      expect(env.body.details?.[0]?.field).toBe('env');
      expect(env.body.message).toMatch(/^invalid request body: env: /);
      expect(await jobIds()).toEqual(before);
    });

    it("a developer's volume beyond its quota: 429 naming API_QUOTA_VOLUMES; nothing is left", async () => {
      const first = await o.dev(['volume', 'create', 'hostile-quota-a']);
      expect(first.code, first.stderr).toBe(0);
      const second = await o.dev(['volume', 'create', 'hostile-quota-b']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/429/);
      expect(second.stderr).toContain('quota API_QUOTA_VOLUMES exceeded');
      expect((await o.dev(['volume', 'remove', 'hostile-quota-a'])).code).toBe(0);
      const list = await o.dev(['volume', 'list']);
      expect(list.stdout).not.toContain('hostile-quota');
    });
  });
}
