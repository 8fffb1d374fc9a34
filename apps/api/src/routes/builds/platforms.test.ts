/**
 * A spec whose `platforms` name an architecture the farm has no build pool for (the guide's
 * openjdk-17 lists ubuntu-amd64 and ubuntu-arm64; the single-machine farm has amd64 only), over
 * real Redis and a real store: the pools it has are built and the others skipped, each with how
 * to get it, in the build record and the cached answer; `architectures` in the request
 * (`rnx runtime build --arch`) keeps the all-or-nothing rule; and once the pool exists, the
 * version published without it asks for --force rather than claiming other inputs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtinCatalog,
  computeBuildKey,
  findCatalogEntry,
  validateRuntimeSpec,
  type RuntimeIndexEntry,
} from '@joblet/spec';
import { BUILDER_VERSION } from '@joblet/queue';
import { indexKey } from '@joblet/storage';
import { DEFAULT_SECURITY } from '../../auth/security.js';
import { buildApp } from '../../app.js';
import { publishFakeRuntime, startTestApi, type TestApi } from '../../testing.js';

const OPENJDK = readFileSync(
  new URL('../../../../../examples/openjdk-17/runtime.yaml', import.meta.url),
  'utf8',
);

describe('platforms on a farm without every pool', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64']);
  });
  afterAll(() => t.close());

  const submit = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/builds', payload });

  it('builds the pools it has and records the platforms it skipped, with how to get them', async () => {
    const res = await submit({ spec: OPENJDK });
    expect(res.statusCode).toBe(202);
    const { build } = res.json();
    expect(build.arches).toEqual(['amd64']);
    expect(build.skipped).toHaveLength(1);
    expect(build.skipped[0].arch).toBe('arm64');
    expect(build.skipped[0].reason).toContain('this farm has no arm64 build pool');
    expect(build.skipped[0].reason).toContain('start a worker with WORKER_ARCH=arm64');
    expect(build.skipped[0].reason).toContain("add arm64 to the API's FARM_ARCHITECTURES");
    const record = (await t.app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })).json();
    expect(record.skipped).toEqual(build.skipped);
  });

  it('keeps all-or-nothing for architectures named in the request, and refuses a spec with no pool', async () => {
    const both = await submit({ spec: OPENJDK, architectures: ['amd64', 'arm64'] });
    expect(both.statusCode).toBe(400);
    expect(both.json().message).toContain('this farm has no build pool for arm64 (pools: amd64)');
    expect(both.json().details[0].field).toBe('architectures');
    const armOnly = OPENJDK.replace(/platforms:\n(\s+- \S+\n)+/, 'platforms:\n  - ubuntu-arm64\n');
    const none = await submit({ spec: armOnly.replace('1.0.0', '1.0.1') });
    expect(none.statusCode).toBe(400);
    expect(none.json().message).toContain('start a worker with WORKER_ARCH=arm64');
  });

  it('answers cached with the skipped platforms; with the pool added, asks for --force', async () => {
    const spec = OPENJDK.replace('version: 1.0.0', 'version: 2.0.0');
    await publishFakeRuntime(t, 'openjdk-17', '2.0.0', ['amd64'], 'java', '17');
    // The amd64 artifact as the publisher would have recorded it for this very spec.
    const key = indexKey('openjdk-17', '2.0.0');
    const entry = (await t.store.getJson<RuntimeIndexEntry>(key))!;
    entry.arches.amd64!.buildKey = computeBuildKey({
      spec: validateRuntimeSpec(spec).spec!,
      arch: 'amd64',
      catalogEntry: findCatalogEntry(builtinCatalog, 'java', '17')!,
      builderVersion: BUILDER_VERSION,
    });
    await t.store.putJson(key, entry);

    const cached = await submit({ spec });
    expect(cached.statusCode).toBe(200);
    expect(cached.json()).toMatchObject({ result: 'cached', skipped: [{ arch: 'arm64' }] });

    const withArm = await buildApp({
      ...t.farm,
      architectures: ['amd64', 'arm64'],
      logger: false,
      security: DEFAULT_SECURITY,
    });
    try {
      const res = await withArm.inject({ method: 'POST', url: '/v1/builds', payload: { spec } });
      expect(res.statusCode).toBe(409);
      expect(res.json().message).toBe(
        'openjdk-17@2.0.0 is published for amd64 only; to add arm64, rebuild it with --force (or bump the version)',
      );
    } finally {
      await withArm.close();
    }
  });
});
