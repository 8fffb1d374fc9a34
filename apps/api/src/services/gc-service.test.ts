/**
 * The garbage collector on a real directory store holding live and orphaned objects of every
 * kind, through `POST /v1/gc`: live objects are never listed, every orphan is, a dry run deletes
 * nothing, and a real run deletes exactly what it listed (and tells the agents about removed
 * versions).
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FarmEvent, type Arch, type GcItem, type JobRecord } from '@joblet/spec';
import { readAfter } from '@joblet/queue';
import { runtimeManifestKey } from '@joblet/storage';
import { publishFakeRuntime, startTestApi, type TestApi } from '../testing.js';
import { DEFAULT_RETENTION } from './retention.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const ID = {
  finished: '11111111-1111-4111-8111-111111111111',
  inflight: '22222222-2222-4222-8222-222222222222',
  unknownOld: '33333333-3333-4333-8333-333333333333',
  unknownNew: '44444444-4444-4444-8444-444444444444',
};

let t: TestApi;
let root: string;

/** Puts an object and sets its modification time `ageMs` in the past. */
async function put(key: string, body: string | object, ageMs = 0): Promise<void> {
  if (typeof body === 'string') await t.store.put(key, body);
  else await t.store.putJson(key, body);
  if (ageMs) {
    const when = new Date(Date.now() - ageMs);
    await utimes(join(root, ...key.split('/')), when, when);
  }
}

async function publish(name: string, version: string, arches: Arch[] = ['amd64']) {
  await publishFakeRuntime(t, name, version, arches);
  for (const arch of arches) {
    await put(`runtimes/${name}/${version}/${arch}/runtime.tar.zst`, `archive ${name}`, 2 * HOUR);
    await put(runtimeManifestKey(name, version, arch), { name, version, arch }, 2 * HOUR);
    const buildKey = `${name}-${version}-${arch}`.replace(/\./g, '_');
    await put(`builds/${buildKey}.json`, {
      name,
      version,
      arch,
      manifestKey: runtimeManifestKey(name, version, arch),
    });
  }
}

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of ['bases/', 'runtimes/', 'index/', 'builds/', 'staging/'])
    for await (const o of t.store.list(prefix)) keys.push(o.key);
  return keys.sort();
}

const gc = (dryRun?: boolean) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/gc',
    payload: dryRun === undefined ? {} : { dryRun },
  });

const meta = (id: string) => ({
  id,
  name: 'alpha',
  version: '9.0.0',
  submissionKey: `sub-${id}`,
  arches: ['amd64' as const],
  force: false,
  allowPartial: false,
  createdAt: new Date().toISOString(),
});

beforeAll(async () => {
  t = await startTestApi(['amd64', 'arm64'], {
    retention: { ...DEFAULT_RETENTION, keepVersions: 2 },
  });
  root = fileURLToPath(t.store.url);
  // alpha: four versions, the newest two kept; 1.1.0 is beyond them but a queued job uses it.
  for (const v of ['1.0.0', '1.1.0', '1.2.0', '2.0.0']) await publish('alpha', v);
  await publish('beta', '1.0.0', ['amd64', 'arm64']);
  const job: JobRecord = {
    id: '55555555-5555-4555-8555-555555555555',
    state: 'QUEUED',
    command: 'true',
    args: [],
    runtime: { ref: 'alpha@1.1.0', name: 'alpha', version: '1.1.0' },
    arch: 'amd64',
    network: 'none',
    limits: {},
    volumes: [],
    env: [],
    uploads: [],
    createdAt: new Date().toISOString(),
  };
  await t.app.jobs.jobs.create(job);

  // Orphans under runtimes/: an unpublished version (old), a stray file in a live version (old),
  // and an upload in progress (new: within the grace, kept).
  await put('runtimes/ghost/0.1.0/amd64/runtime.tar.zst', 'x'.repeat(1000), 2 * HOUR);
  await put('runtimes/ghost/0.1.0/amd64/manifest.json', { ghost: true }, 2 * HOUR);
  await put('runtimes/beta/1.0.0/amd64/leftover.tmp', 'y'.repeat(10), 3 * HOUR);
  await put('runtimes/fresh/0.1.0/amd64/runtime.tar.zst', 'being published', 0);
  // Pointers: one to a manifest that is gone; one that is not a pointer (left alone).
  await put(
    'builds/deadbeef.json',
    {
      name: 'gone',
      version: '1.0.0',
      arch: 'amd64',
      manifestKey: 'runtimes/gone/1.0.0/amd64/manifest.json',
    },
    2 * HOUR,
  );
  await put('builds/junk.json', { something: 'else' }, 2 * HOUR);
  // Staging: a finished build's, an in-flight build's, and two of builds without a record.
  await t.app.buildStore.create(meta(ID.finished), { amd64: { state: 'queued' } });
  await t.app.buildStore.finish(ID.finished, 'failed');
  await t.app.buildStore.create(meta(ID.inflight), { amd64: { state: 'running' } });
  for (const [id, age] of [
    [ID.finished, 0],
    [ID.inflight, 5 * HOUR],
    [ID.unknownOld, 2 * HOUR],
    [ID.unknownNew, 0],
  ] as const)
    await put(`staging/${id}/amd64/runtime.tar.zst`, `staged ${id}`, age);
  // Bases: bookworm (used by every python 3.11 runtime) old but kept; trixie/arm64 unused and
  // old; trixie/amd64 unused but recent.
  await put('bases/debian/bookworm/amd64/base.tar.zst', 'b'.repeat(500), 90 * DAY);
  await put('bases/debian/bookworm/arm64/base.tar.zst', 'b'.repeat(500), 90 * DAY);
  await put('bases/debian/trixie/arm64/base.tar.zst', 't'.repeat(700), 40 * DAY);
  await put('bases/debian/trixie/arm64/manifest.json', { suite: 'trixie' }, 40 * DAY);
  await put('bases/debian/trixie/amd64/base.tar.zst', 't'.repeat(700), 5 * DAY);
});
afterAll(() => t?.close());

const EXPECTED: [GcItem['kind'], string][] = [
  ['version', 'alpha@1.0.0'],
  ['artifact', 'runtimes/beta/1.0.0/amd64/leftover.tmp'],
  ['artifact', 'runtimes/ghost/0.1.0/amd64/manifest.json'],
  ['artifact', 'runtimes/ghost/0.1.0/amd64/runtime.tar.zst'],
  ['pointer', 'builds/deadbeef.json'],
  ['staging', `staging/${ID.finished}/`],
  ['staging', `staging/${ID.unknownOld}/`],
  ['base', 'bases/debian/trixie/arm64/'],
];
const sortItems = (items: GcItem[]) =>
  items.map((i) => [i.kind, i.key] as [string, string]).sort((a, b) => a[1].localeCompare(b[1]));

describe('garbage collection of the artifact store', () => {
  let before: string[];

  it('a dry run (the default) lists exactly the orphans, with sizes and reasons, and deletes nothing', async () => {
    before = await allKeys();
    const res = await gc();
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.dryRun).toBe(true);
    expect(sortItems(body.items)).toEqual([...EXPECTED].sort((a, b) => a[1].localeCompare(b[1])));
    const byKey = Object.fromEntries(body.items.map((i: GcItem) => [i.key, i]));
    expect(byKey['runtimes/ghost/0.1.0/amd64/runtime.tar.zst'].bytes).toBe(1000);
    expect(byKey['bases/debian/trixie/arm64/'].bytes).toBeGreaterThan(700);
    expect(byKey['alpha@1.0.0'].reason).toMatch(/newest 2 versions of alpha \(newest 2\.0\.0\)/);
    expect(byKey['alpha@1.0.0'].bytes).toBeGreaterThan(0);
    expect(body.bytes).toBe(body.items.reduce((n: number, i: GcItem) => n + i.bytes, 0));
    expect(body.policy).toMatchObject({ keepVersions: 2, baseUnusedDays: 30 });
    expect(await allKeys()).toEqual(before);
  });

  it('a real run deletes exactly what it listed, and tells agents the version is gone', async () => {
    const res = await gc(false);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.dryRun).toBe(false);
    expect(body.items.filter((i: GcItem) => i.error)).toEqual([]);
    const after = await allKeys();
    const gone = before.filter((k) => !after.includes(k));
    const listed = (k: string) =>
      body.items.some((i: GcItem) =>
        i.kind === 'version'
          ? k.startsWith('runtimes/alpha/1.0.0/') ||
            k === 'index/alpha/1.0.0.json' ||
            k === 'builds/alpha-1_0_0-amd64.json'
          : i.key.endsWith('/')
            ? k.startsWith(i.key)
            : k === i.key,
      );
    expect(gone.filter((k) => !listed(k))).toEqual([]);
    expect(before.filter(listed).filter((k) => after.includes(k))).toEqual([]);
    expect(after.filter((k) => !before.includes(k))).toEqual([]);
    // Live things are all there: kept versions, the in-use one, in-flight staging, used bases.
    for (const k of [
      'index/alpha/1.1.0.json',
      'index/alpha/2.0.0.json',
      'runtimes/alpha/1.1.0/amd64/runtime.tar.zst',
      'builds/alpha-2_0_0-amd64.json',
      'builds/junk.json',
      'runtimes/fresh/0.1.0/amd64/runtime.tar.zst',
      `staging/${ID.inflight}/amd64/runtime.tar.zst`,
      `staging/${ID.unknownNew}/amd64/runtime.tar.zst`,
      'bases/debian/bookworm/arm64/base.tar.zst',
      'bases/debian/trixie/amd64/base.tar.zst',
    ])
      expect(after).toContain(k);
    const events = await readAfter(t.redis, t.app.keys.farmEvents, FarmEvent);
    expect(events.map((e) => e.event)).toContainEqual({
      type: 'runtime.removed',
      name: 'alpha',
      version: '1.0.0',
    });
    // Nothing is left to collect.
    expect((await gc()).json().items).toEqual([]);
  });

  it('refuses a second collection while one holds the lock; a dry run still answers', async () => {
    await t.redis.set(t.app.keys.gcLock, 'someone-else', 'EX', 60);
    try {
      const res = await gc(false);
      expect(res.statusCode).toBe(409);
      expect(res.json().message).toMatch(/already running/);
      expect((await gc(true)).statusCode).toBe(200);
    } finally {
      await t.redis.del(t.app.keys.gcLock);
    }
  });
});
