/**
 * The build routes against real Redis and a real directory store, with no worker running: what
 * the API itself decides (validation, cache answers, dedup, enqueueing, cancel, SSE replay).
 */
import { readFileSync } from 'node:fs';
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtinCatalog,
  computeBuildKey,
  findCatalogEntry,
  validateRuntimeSpec,
  type Arch,
} from '@joblet/spec';
import { BUILDER_VERSION, appendEvent, childJobId } from '@joblet/queue';
import { indexKey, stagingArchiveKey } from '@joblet/storage';
import { startTestApi, type TestApi } from '../../testing.js';

/** What rnx sends with every request; body-less POST/DELETE are refused without it. */
const MARK = { 'x-joblet-request': '1' };

const example = (name: string) =>
  readFileSync(new URL(`../../../../../examples/${name}/runtime.yaml`, import.meta.url), 'utf8');
const SPEC = example('python-3.11');

function parseSse(text: string): { id: string; event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      return {
        id: field('id') ?? '',
        event: field('event') ?? '',
        data: JSON.parse(field('data') ?? '{}'),
      };
    });
}

describe('/v1/builds', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64']);
  });
  afterAll(() => t.close());

  const submit = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/builds', payload });

  it('queues a flow: a publish parent with one child per arch, and a record', async () => {
    const res = await submit({ spec: SPEC, architectures: ['amd64', 'arm64'] });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ result: 'queued', deduplicated: false });
    expect(body.build).toMatchObject({
      name: 'python-3.11',
      version: '1.0.0',
      state: 'queued',
      arches: ['amd64', 'arm64'],
    });
    expect(body.build.archStatus).toEqual({
      amd64: { state: 'queued' },
      arm64: { state: 'queued' },
    });
    for (const arch of ['amd64', 'arm64'] as Arch[]) {
      const job = await Job.fromId(t.app.buildQueues.get(arch)!, childJobId(body.build.id, arch));
      expect(job?.data).toMatchObject({ buildId: body.build.id, arch, specText: SPEC });
      expect(job?.opts.attempts).toBe(3);
      expect(await job?.getState()).toBe('waiting');
    }
    const parent = await Job.fromId(t.app.publishQueue, body.build.id);
    expect(await parent?.getState()).toBe('waiting-children');

    // An identical submission in flight joins it instead of building twice.
    const again = (await submit({ spec: SPEC, architectures: ['amd64', 'arm64'] })).json();
    expect(again).toMatchObject({
      result: 'queued',
      deduplicated: true,
      build: { id: body.build.id },
    });
    expect(await t.app.buildQueues.get('amd64')!.getWaitingCount()).toBe(1);

    const pools = (await t.app.inject({ method: 'GET', url: '/v1/pools' })).json().pools;
    expect(
      pools.map((p: { arch: string; waiting: number; workers: number }) => [
        p.arch,
        p.waiting,
        p.workers,
      ]),
    ).toEqual([
      ['amd64', 1, 0],
      ['arm64', 1, 0],
    ]);
    expect(pools[0].oldestWaitingAgeS).toBeGreaterThanOrEqual(0);

    const list = (await t.app.inject({ method: 'GET', url: '/v1/builds' })).json();
    expect(list.builds.map((b: { id: string }) => b.id)).toContain(body.build.id);
    const one = await t.app.inject({ method: 'GET', url: `/v1/builds/${body.build.id}` });
    expect(one.json()).toMatchObject({ id: body.build.id, state: 'queued' });
  });

  it('cancels a queued build: jobs removed, state canceled, staging deleted, dedup slot freed', async () => {
    const spec = SPEC.replace('version: 1.0.0', 'version: 1.0.1');
    const { build } = (await submit({ spec, architectures: ['amd64'] })).json();
    await t.store.put(stagingArchiveKey(build.id, 'amd64'), 'partial upload');
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/builds/${build.id}/cancel`,
      headers: MARK,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      state: 'canceled',
      archStatus: { amd64: { state: 'canceled' } },
    });
    expect(
      await Job.fromId(t.app.buildQueues.get('amd64')!, childJobId(build.id, 'amd64')),
    ).toBeUndefined();
    expect(await Job.fromId(t.app.publishQueue, build.id)).toBeUndefined();
    expect(await t.store.exists(stagingArchiveKey(build.id, 'amd64'))).toBe(false);
    const again = await t.app.inject({
      method: 'POST',
      url: `/v1/builds/${build.id}/cancel`,
      headers: MARK,
    });
    expect(again.statusCode).toBe(409);
    // The slot is free: the same spec now makes a new build.
    const next = (await submit({ spec, architectures: ['amd64'] })).json();
    expect(next.deduplicated).toBe(false);
    expect(next.build.id).not.toBe(build.id);
  });

  it('replays the event stream over SSE and resumes after Last-Event-ID', async () => {
    const spec = SPEC.replace('version: 1.0.0', 'version: 1.0.2');
    const { build } = (await submit({ spec, architectures: ['amd64'] })).json();
    const key = t.app.keys.buildEvents(build.id);
    await appendEvent(t.redis, key, {
      type: 'phase',
      arch: 'amd64',
      n: 1,
      total: 9,
      name: 'Preparing base root',
    });
    await appendEvent(t.redis, key, {
      type: 'log',
      arch: 'amd64',
      stream: 'stdout',
      line: 'hello',
    });
    await t.app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel`, headers: MARK });

    const all = parseSse(
      (await t.app.inject({ method: 'GET', url: `/v1/builds/${build.id}/events` })).body,
    );
    expect(all.map((e) => e.event)).toEqual(['submitted', 'phase', 'log', 'arch-canceled', 'done']);
    expect(all[4]!.data).toMatchObject({ type: 'done', state: 'canceled' });

    const rest = await t.app.inject({
      method: 'GET',
      url: `/v1/builds/${build.id}/events`,
      headers: { 'last-event-id': all[1]!.id },
    });
    expect(rest.headers['content-type']).toContain('text/event-stream');
    expect(parseSse(rest.body).map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
    // Resuming after the last event of a finished build ends at once with nothing more.
    const none = await t.app.inject({
      method: 'GET',
      url: `/v1/builds/${build.id}/events`,
      headers: { 'last-event-id': all[4]!.id },
    });
    expect(parseSse(none.body)).toEqual([]);
  });

  it('answers cached when the build keys already have a published artifact, and 409 on other inputs', async () => {
    const spec = SPEC.replace('version: 1.0.0', 'version: 2.0.0');
    const parsed = validateRuntimeSpec(spec).spec!;
    const entry = findCatalogEntry(builtinCatalog, 'python', '3.11')!;
    const key = computeBuildKey({
      spec: parsed,
      arch: 'amd64',
      catalogEntry: entry,
      builderVersion: BUILDER_VERSION,
    });
    const yml = {
      name: 'python-3.11',
      language: 'python',
      language_version: '3.11',
      version: '2.0.0',
      mounts: [],
      environment: {},
      packages: [],
      system_packages: [],
      libraries: [],
      requirements: { architectures: ['amd64'], gpu: false },
      build_info: {
        built_at: '2026-01-01T00:00:00Z',
        built_with: 'joblet-runtime-farm',
        builder_version: '1',
        platform: 'debian-amd64',
        arch: 'amd64',
        suite: 'bookworm',
      },
      original_yaml: spec,
    };
    await t.store.putJson(indexKey('python-3.11', '2.0.0'), {
      schema: 1,
      name: 'python-3.11',
      version: '2.0.0',
      language: 'python',
      languageVersion: '3.11',
      publishedAt: '2026-01-01T00:00:00Z',
      buildId: '00000000-0000-4000-8000-000000000000',
      arches: {
        amd64: {
          arch: 'amd64',
          archiveKey: 'a',
          manifestKey: 'm',
          sha256: 'a'.repeat(64),
          size: 1,
          treeHash: 't',
          treeBytes: 1,
          buildKey: key,
          runtimeYml: yml,
        },
      },
    });
    const cached = await submit({ spec, architectures: ['amd64'] });
    expect(cached.statusCode).toBe(200);
    expect(cached.json()).toMatchObject({
      result: 'cached',
      name: 'python-3.11',
      version: '2.0.0',
    });

    const changed = await submit({
      spec: spec.replace('python3-yaml', 'python3-six'),
      architectures: ['amd64'],
    });
    expect(changed.statusCode).toBe(409);
    expect(changed.json().message).toMatch(/python-3\.11@2\.0\.0 already exists .*--force/);

    const forced = await submit({ spec, architectures: ['amd64'], force: true });
    expect(forced.statusCode).toBe(202);
    expect(forced.json().result).toBe('queued');
  });

  it('refuses an invalid spec with every diagnostic, and unknown pools, and bad ids', async () => {
    const bad = await submit({
      spec: 'schema_version: "1.0"\nname: x\nversion: 1\nbase: { language: cobol, version: "1" }\n',
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'INVALID_SPEC' });
    expect(bad.json().details.map((d: { field: string }) => d.field)).toEqual(
      expect.arrayContaining(['version', 'base.language']),
    );

    const amdOnly = await startTestApi(['amd64']);
    try {
      const res = await amdOnly.app.inject({
        method: 'POST',
        url: '/v1/builds',
        payload: { spec: SPEC, architectures: ['arm64'] },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toContain('no build pool for arm64');
    } finally {
      await amdOnly.close();
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/builds/not-a-uuid' })).statusCode).toBe(
      400,
    );
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/builds/00000000-0000-4000-8000-000000000001',
    });
    expect(missing.statusCode).toBe(404);
    expect(
      (await submit({ spec: SPEC, architectures: ['sparc'] })).json().details[0].field,
    ).toMatch(/^architectures/);
  });
});
