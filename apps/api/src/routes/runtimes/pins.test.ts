/**
 * Retention pins through the API: a pinned version is shown as pinned in list and detail, is
 * never taken by garbage collection although it is beyond the newest N, and cannot be removed
 * until unpinned; the pin lives in the store (`pins/`), and unpinning hands the version back to
 * retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcItem } from '@joblet/spec';
import { pinKey } from '@joblet/storage';
import { DEFAULT_RETENTION } from '../../services/retention.js';
import { publishFakeRuntime, startTestApi, type TestApi } from '../../testing.js';

/** What rnx sends with every request (the forgery guard wants it on body-less ones). */
const MARK = { 'x-joblet-request': '1' };

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi(['amd64'], { retention: { ...DEFAULT_RETENTION, keepVersions: 2 } });
  for (const v of ['1.0.0', '2.0.0', '3.0.0', '4.0.0'])
    await publishFakeRuntime(t, 'gamma', v, ['amd64']);
});
afterAll(() => t?.close());

const gcVersions = async () => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/gc', payload: { dryRun: true } });
  expect(res.statusCode).toBe(200);
  return (res.json().items as GcItem[])
    .filter((i) => i.kind === 'version')
    .map((i) => i.key)
    .sort();
};

describe('retention pins', () => {
  it('pins a version: shown in list and detail, kept by GC, stored beside the index', async () => {
    expect(await gcVersions()).toEqual(['gamma@1.0.0', 'gamma@2.0.0']);
    const pin = await t.app.inject({
      method: 'PUT',
      url: '/v1/runtimes/gamma@1.0.0/pin',
      payload: { reason: 'audited release' },
    });
    expect(pin.statusCode, pin.body).toBe(200);
    expect(pin.json()).toMatchObject({
      name: 'gamma',
      version: '1.0.0',
      pin: { by: 'local', reason: 'audited release' },
    });
    expect(await t.store.getJson(pinKey('gamma', '1.0.0'))).toMatchObject({ by: 'local' });

    const list = (await t.app.inject({ method: 'GET', url: '/v1/runtimes' })).json();
    const byVersion = Object.fromEntries(
      list.runtimes.map((r: { version: string; pinned?: unknown }) => [r.version, r.pinned]),
    );
    expect(byVersion['1.0.0']).toMatchObject({ by: 'local', reason: 'audited release' });
    expect(byVersion['2.0.0']).toBeUndefined();
    const detail = (await t.app.inject({ method: 'GET', url: '/v1/runtimes/gamma@1.0.0' })).json();
    expect(detail.summary.pinned).toMatchObject({ reason: 'audited release' });

    expect(await gcVersions()).toEqual(['gamma@2.0.0']);
  });

  it('refuses to remove a pinned version, naming the pin and how to lift it', async () => {
    for (const ref of ['gamma@1.0.0', 'gamma']) {
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/v1/runtimes/${ref}`,
        headers: MARK,
      });
      expect(res.statusCode, ref).toBe(409);
      expect(res.json().message).toMatch(
        /gamma@1\.0\.0 \(pinned by local at .*: audited release\): unpin first with rnx runtime unpin gamma@1\.0\.0/,
      );
    }
    // Nothing was removed by the refused "all versions" request.
    const list = (await t.app.inject({ method: 'GET', url: '/v1/runtimes' })).json();
    expect(list.runtimes).toHaveLength(4);
  });

  it('unpinning hands the version back to retention', async () => {
    const res = await t.app.inject({
      method: 'DELETE',
      url: '/v1/runtimes/gamma@1.0.0/pin',
      headers: MARK,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'gamma', version: '1.0.0' });
    expect(await t.store.getJson(pinKey('gamma', '1.0.0'))).toBeUndefined();
    expect(await gcVersions()).toEqual(['gamma@1.0.0', 'gamma@2.0.0']);
    const gone = await t.app.inject({
      method: 'DELETE',
      url: '/v1/runtimes/gamma@1.0.0',
      headers: MARK,
    });
    expect(gone.statusCode).toBe(200);
  });

  it('answers 404 for a version that is not published', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/v1/runtimes/gamma@9.9.9/pin',
      headers: MARK,
    });
    expect(res.statusCode, res.body).toBe(404);
  });
});
