/**
 * Runtime routes over a real directory store and real Redis. Index entries and node reports are
 * written in the exact shapes the publisher and the agents write (their own tests prove those).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAfter } from '@joblet/queue';
import { FarmEvent } from '@joblet/spec';
import { buildPointerKey, indexKey, runtimeArchiveKey } from '@joblet/storage';
import {
  publishFakeRuntime as publish,
  registerNode,
  reportInstallFailure,
  startTestApi,
  type TestApi,
} from '../../testing.js';

/** What rnx sends with every request; body-less POST/DELETE are refused without it. */
const MARK = { 'x-joblet-request': '1' };

describe('/v1/runtimes and /v1/nodes', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64']);
    await publish(t, 'python-3.11', '1.0.0', ['amd64', 'arm64']);
    await publish(t, 'python-3.11', '1.2.0', ['amd64']);
    await publish(t, 'openjdk-17', '1.0.0', ['amd64'], 'java', '17');
    await registerNode(t, 'node-a', 'amd64', ['python-3.11@1.0.0', 'python-3.11@1.2.0']);
    await registerNode(t, 'node-b', 'amd64', ['python-3.11@1.0.0']);
    await registerNode(t, 'node-c', 'arm64', []);
    await registerNode(t, 'node-gone', 'amd64', ['python-3.11@1.0.0'], 120_000);
  });
  afterAll(() => t.close());

  it('lists every published version with arches, sizes and installed/total online nodes', async () => {
    const { runtimes } = (await t.app.inject({ method: 'GET', url: '/v1/runtimes' })).json();
    expect(
      runtimes.map((r: { name: string; version: string }) => `${r.name}@${r.version}`),
    ).toEqual(['openjdk-17@1.0.0', 'python-3.11@1.0.0', 'python-3.11@1.2.0']);
    const py = runtimes.find(
      (r: { version: string; name: string }) => r.name === 'python-3.11' && r.version === '1.0.0',
    );
    expect(py).toMatchObject({
      language: 'python',
      arches: ['amd64', 'arm64'],
      nodes: { installed: 2, total: 3 },
      treeBytes: { amd64: 130_000_000 },
    });
  });

  it('resolves name, name@version, name@latest and lang:ver, honouring the version', async () => {
    const get = async (ref: string) =>
      (
        await t.app.inject({ method: 'GET', url: `/v1/runtimes/${encodeURIComponent(ref)}` })
      ).json();
    expect((await get('python-3.11')).index.version).toBe('1.2.0');
    expect((await get('python-3.11@latest')).index.version).toBe('1.2.0');
    const pinned = await get('python-3.11@1.0.0');
    expect(pinned.index.version).toBe('1.0.0');
    expect(pinned.versions).toEqual(['1.2.0', '1.0.0']);
    expect(
      pinned.installs.map((i: { node: string; online: boolean }) => `${i.node}:${i.online}`).sort(),
    ).toEqual(['node-a:true', 'node-b:true', 'node-gone:false']);
    expect(pinned.index.arches.arm64.runtimeYml.environment.LD_LIBRARY_PATH).toContain(
      'aarch64-linux-gnu',
    );
    expect((await get('java:17')).index.name).toBe('openjdk-17');
  });

  it('answers not found with the versions or similar names and how to build one', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/v1/runtimes/python-3.11-ml' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toMatch(
      /^runtime not found: python-3\.11-ml; similar: python-3\.11; build one with: rnx runtime build/,
    );
    const badVersion = await t.app.inject({ method: 'GET', url: '/v1/runtimes/python-3.11@9.9.9' });
    expect(badVersion.json().message).toContain('published versions: 1.0.0, 1.2.0');
    const traversal = await t.app.inject({
      method: 'DELETE',
      url: `/v1/runtimes/${encodeURIComponent('../../etc')}`,
      headers: MARK,
    });
    expect(traversal.statusCode).toBe(400);
    expect(traversal.json().details[0].field).toBe('ref');
  });

  it('shows per node why an artifact was refused: code, message and the key ids', async () => {
    const signedBy = 'a'.repeat(64);
    const trusted = 'b'.repeat(64);
    await registerNode(t, 'node-refusing', 'amd64', []);
    await reportInstallFailure(t, 'node-refusing', 'amd64', 'openjdk-17@1.0.0', {
      code: 'BAD_SIGNATURE',
      message: `manifest runtimes/openjdk-17/1.0.0/amd64/manifest.json has no valid signature by a trusted key: aaaaaaaaaaaaaaaa… (not a trusted key); trusted keys: bbbbbbbbbbbbbbbb… (AGENT_TRUSTED_KEYS)`,
      details: { signedBy: [signedBy], trustedKeys: [trusted] },
    });
    const res = await t.app.inject({ method: 'GET', url: '/v1/runtimes/openjdk-17' });
    expect(res.statusCode).toBe(200);
    const install = res.json().installs.find((i: { node: string }) => i.node === 'node-refusing');
    expect(install).toMatchObject({
      state: 'failed',
      online: true,
      error: expect.stringContaining('has no valid signature'),
      failure: {
        code: 'BAD_SIGNATURE',
        message: expect.stringContaining('(not a trusted key)'),
        details: { signedBy: [signedBy], trustedKeys: [trusted] },
      },
    });
    await t.redis.srem(t.app.keys.nodes, 'node-refusing');
  });

  it('lists nodes with online state and their runtimes', async () => {
    const { nodes } = (await t.app.inject({ method: 'GET', url: '/v1/nodes' })).json();
    expect(nodes.map((n: { name: string; online: boolean }) => `${n.name}:${n.online}`)).toEqual([
      'node-a:true',
      'node-b:true',
      'node-c:true',
      'node-gone:false',
    ]);
    expect(nodes[0].runtimes).toHaveLength(2);
  });

  it('removes one version, then all: index, artifacts and pointers gone, agents told', async () => {
    const one = await t.app.inject({
      method: 'DELETE',
      url: '/v1/runtimes/python-3.11@1.0.0',
      headers: MARK,
    });
    expect(one.json()).toEqual({ removed: [{ name: 'python-3.11', version: '1.0.0' }] });
    expect(await t.store.exists(indexKey('python-3.11', '1.0.0'))).toBe(false);
    expect(await t.store.exists(runtimeArchiveKey('python-3.11', '1.0.0', 'amd64'))).toBe(false);
    expect(await t.store.exists(buildPointerKey('python-3_11-1_0_0-amd64'))).toBe(false);
    expect(await t.store.exists(indexKey('python-3.11', '1.2.0'))).toBe(true);
    const all = await t.app.inject({
      method: 'DELETE',
      url: '/v1/runtimes/python-3.11',
      headers: MARK,
    });
    expect(all.json().removed).toEqual([{ name: 'python-3.11', version: '1.2.0' }]);
    const events = await readAfter(t.redis, t.app.keys.farmEvents, FarmEvent);
    expect(events.map((e) => e.event)).toEqual([
      { type: 'runtime.removed', name: 'python-3.11', version: '1.0.0' },
      { type: 'runtime.removed', name: 'python-3.11', version: '1.2.0' },
    ]);
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/v1/runtimes/python-3.11', headers: MARK }))
        .statusCode,
    ).toBe(404);
  });

  it('refuses a runtime test when no online node has it installed', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/runtimes/openjdk-17/test',
      payload: {},
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain(
      'openjdk-17@1.0.0 is not installed on any online node yet',
    );
  });
});
