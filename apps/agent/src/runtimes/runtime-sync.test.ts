import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { treeHash } from '@joblet/artifact';
import { NodeRuntimeStatus } from '@joblet/spec';
import { indexKey } from '@joblet/storage';
import { startS3Server, type S3TestServer } from '@joblet/testkit';
import { createAgent, type Agent } from '../agent.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import { acquireRuntimeLease } from './leases.js';
import {
  buildArtifact,
  makeWorld,
  publish,
  unpublish,
  waitFor,
  type World,
} from '../test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(opts: { storeUrl?: string } = {}): Promise<World> {
  const w = await makeWorld(opts);
  cleanups.push(() => w.cleanup());
  return w;
}

async function agent(w: World, node: string, over = {}): Promise<Agent> {
  const a = createAgent(w.config(node, over), {
    nodeQueue: false,
    timing: { followBlockMs: 200, leasePollMs: 100 },
  });
  cleanups.push(() => a.stop(5_000));
  await a.start();
  return a;
}

async function statusOf(w: World, node: string, name: string, version: string) {
  const raw = await w.redis.hget(w.keys.nodeRuntimes(node), `${name}@${version}`);
  return raw === null ? undefined : NodeRuntimeStatus.parse(JSON.parse(raw));
}

function installedOn(w: World, node: string, name: string, version: string) {
  return waitFor(async () => {
    const s = await statusOf(w, node, name, version);
    return s?.state === 'installed' ? s : undefined;
  }, `${name}@${version} installed on ${node}`);
}

function sleeper(): ChildProcess {
  const p = spawn('sleep', ['600'], { stdio: 'ignore' });
  cleanups.push(() => {
    p.kill('SIGKILL');
    return Promise.resolve();
  });
  return p;
}

describe('RuntimeSync', () => {
  it('one publish → three agents install identical trees equal to the manifest', async () => {
    const w = await world();
    const nodes = ['node-a', 'node-b', 'node-c'];
    const agents = await Promise.all(nodes.map((n) => agent(w, n)));
    const packed = await buildArtifact(w.dir('art'), { name: 'py', version: '1.0.0' });
    const { manifest } = await publish(w.store, w.redis, w.keys, packed, {
      name: 'py',
      version: '1.0.0',
    });
    for (const [i, node] of nodes.entries()) {
      const s = await installedOn(w, node, 'py', '1.0.0');
      expect(s.treeHash).toBe(manifest.treeHash);
      const dir = join(agents[i]!.config.runtimesDir, 'py');
      // Exactly the version dir: no staging, incoming or trash left next to it.
      expect(readdirSync(dir)).toEqual(['1.0.0']);
      expect(readdirSync(join(dir, '1.0.0')).sort()).toEqual(['isolated', 'runtime.yml']);
      expect(await treeHash(join(dir, '1.0.0'))).toBe(manifest.treeHash);
    }
  });

  it('works against S3 as the store', async () => {
    const s3: S3TestServer = await startS3Server();
    cleanups.push(() => s3.close());
    await s3.createBucket('farm');
    const w = await world({ storeUrl: s3.url('farm', 'agent-test') });
    const agents = await Promise.all(['s3-a', 's3-b'].map((n) => agent(w, n)));
    const packed = await buildArtifact(w.dir('art'), {
      name: 'java',
      version: '2.1.0',
      dataBytes: 8 * 1024 * 1024,
    });
    const { manifest } = await publish(w.store, w.redis, w.keys, packed, {
      name: 'java',
      version: '2.1.0',
    });
    for (const a of agents) {
      expect((await installedOn(w, a.config.name, 'java', '2.1.0')).treeHash).toBe(
        manifest.treeHash,
      );
      expect(await treeHash(join(a.config.runtimesDir, 'java/2.1.0'))).toBe(manifest.treeHash);
    }
  });

  it('an agent that was down catches up on start (installs new, drops removed)', async () => {
    const w = await world();
    const first = await agent(w, 'late');
    const v1 = await buildArtifact(w.dir('art'), { name: 'rt', version: '1.0.0' });
    await publish(w.store, w.redis, w.keys, v1, { name: 'rt', version: '1.0.0' });
    await installedOn(w, 'late', 'rt', '1.0.0');
    await first.stop();
    // While it is down: 1.0.0 removed, 2.0.0 published, 3.0.0 published and removed again.
    await unpublish(w.store, w.redis, w.keys, 'rt', '1.0.0');
    const v2 = await buildArtifact(w.dir('art'), { name: 'rt', version: '2.0.0' });
    await publish(w.store, w.redis, w.keys, v2, { name: 'rt', version: '2.0.0' });
    const v3 = await buildArtifact(w.dir('art'), { name: 'rt', version: '3.0.0' });
    await publish(w.store, w.redis, w.keys, v3, { name: 'rt', version: '3.0.0' });
    await unpublish(w.store, w.redis, w.keys, 'rt', '3.0.0');

    const again = await agent(w, 'late');
    await again.sync.idle();
    await installedOn(w, 'late', 'rt', '2.0.0');
    expect(readdirSync(join(again.config.runtimesDir, 'rt'))).toEqual(['2.0.0']);
    expect(await statusOf(w, 'late', 'rt', '1.0.0')).toBeUndefined();
    expect(await statusOf(w, 'late', 'rt', '3.0.0')).toBeUndefined();
    // The cursor moved past everything it saw.
    const last = await w.redis.xrevrange(w.keys.farmEvents, '+', '-', 'COUNT', 1);
    await waitFor(
      async () => (await w.redis.get(w.keys.nodeCursor('late'))) === last[0]![0],
      'cursor at the end of the stream',
    );
  });

  it('reconcile removes what is no longer in the index, even without an event', async () => {
    const w = await world();
    const a = await agent(w, 'rec');
    for (const name of ['gone', 'stays']) {
      const packed = await buildArtifact(w.dir('art'), { name, version: '0.1.0' });
      await publish(w.store, w.redis, w.keys, packed, { name, version: '0.1.0' });
      await installedOn(w, 'rec', name, '0.1.0');
    }
    await w.store.delete(indexKey('gone', '0.1.0')); // no runtime.removed event
    await a.sync.reconcile();
    expect(existsSync(join(a.config.runtimesDir, 'gone'))).toBe(false);
    expect(await statusOf(w, 'rec', 'gone', '0.1.0')).toBeUndefined();
    expect(existsSync(join(a.config.runtimesDir, 'stays/0.1.0/runtime.yml'))).toBe(true);
  });

  it('an empty index (a wrong STORAGE_URL looks the same) never wipes the node by reconcile', async () => {
    const w = await world();
    const a = await agent(w, 'empty');
    const packed = await buildArtifact(w.dir('art'), { name: 'kept', version: '1.0.0' });
    await publish(w.store, w.redis, w.keys, packed, { name: 'kept', version: '1.0.0' });
    await installedOn(w, 'empty', 'kept', '1.0.0');
    await w.store.delete(indexKey('kept', '1.0.0'));
    await a.sync.reconcile();
    expect(existsSync(join(a.config.runtimesDir, 'kept/1.0.0/runtime.yml'))).toBe(true);
    // An explicit removal still applies.
    await unpublish(w.store, w.redis, w.keys, 'kept', '1.0.0');
    await waitFor(() => !existsSync(join(a.config.runtimesDir, 'kept')), 'removed by its event');
  });

  it('remove with a live lease is deferred (removing), then completes when the holder ends', async () => {
    const w = await world();
    const a = await agent(w, 'lease');
    const packed = await buildArtifact(w.dir('art'), { name: 'busy', version: '1.2.3' });
    await publish(w.store, w.redis, w.keys, packed, { name: 'busy', version: '1.2.3' });
    await installedOn(w, 'lease', 'busy', '1.2.3');
    const sleep = sleeper();
    await acquireRuntimeLease(a.config.runtimesDir, 'busy', '1.2.3', 'job-1', sleep.pid);

    await unpublish(w.store, w.redis, w.keys, 'busy', '1.2.3');
    await waitFor(
      async () => (await statusOf(w, 'lease', 'busy', '1.2.3'))?.state === 'removing',
      'state removing',
    );
    const dir = join(a.config.runtimesDir, 'busy/1.2.3');
    expect(existsSync(join(dir, 'runtime.yml'))).toBe(true);
    // No new lease while the removal waits, or a busy runtime could never be removed.
    const refused = await acquireRuntimeLease(a.config.runtimesDir, 'busy', '1.2.3', 'job-2').catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(AgentError);
    expect((refused as AgentError).code).toBe(AgentErrorCode.RuntimeRemoving);
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(dir)).toBe(true);

    sleep.kill('SIGKILL');
    await waitFor(() => !existsSync(join(a.config.runtimesDir, 'busy')), 'runtime removed', 5000);
    await waitFor(
      async () => (await statusOf(w, 'lease', 'busy', '1.2.3')) === undefined,
      'status cleared',
    );
  });

  it('a forced rebuild swaps the tree atomically once the old one is free', async () => {
    const w = await world();
    const a = await agent(w, 'swap');
    const old = await buildArtifact(w.dir('art'), { name: 'sw', version: '1.0.0', marker: 'old' });
    await publish(w.store, w.redis, w.keys, old, { name: 'sw', version: '1.0.0' });
    await installedOn(w, 'swap', 'sw', '1.0.0');
    const sleep = sleeper();
    await acquireRuntimeLease(a.config.runtimesDir, 'sw', '1.0.0', 'job-old', sleep.pid);

    const rebuilt = await buildArtifact(w.dir('art'), {
      name: 'sw',
      version: '1.0.0',
      marker: 'new',
    });
    await publish(w.store, w.redis, w.keys, rebuilt, { name: 'sw', version: '1.0.0' });
    const marker = join(a.config.runtimesDir, 'sw/1.0.0/isolated/data/marker');
    await waitFor(
      async () => (await statusOf(w, 'swap', 'sw', '1.0.0'))?.state === 'syncing',
      'syncing',
    );
    await new Promise((r) => setTimeout(r, 600));
    expect(readFileSync(marker, 'utf8')).toBe('old'); // in use: not replaced under the job
    sleep.kill('SIGKILL');
    const s = await waitFor(async () => {
      const st = await statusOf(w, 'swap', 'sw', '1.0.0');
      return st?.treeHash === rebuilt.treeHash ? st : undefined;
    }, 'the rebuilt tree installed');
    expect(s.state).toBe('installed');
    expect(readFileSync(marker, 'utf8')).toBe('new');
    expect(readdirSync(join(a.config.runtimesDir, 'sw'))).toEqual(['1.0.0']);
    expect(await treeHash(join(a.config.runtimesDir, 'sw/1.0.0'))).toBe(rebuilt.treeHash);
  });

  it('two agents sharing one RUNTIMES_DIR install it once, without corrupting each other', async () => {
    const w = await world();
    const shared = w.dir('shared-runtimes');
    const [a, b] = await Promise.all([
      agent(w, 'share-a', { runtimesDir: shared }),
      agent(w, 'share-b', { runtimesDir: shared }),
    ]);
    const packed = await buildArtifact(w.dir('art'), {
      name: 'same',
      version: '1.0.0',
      dataBytes: 16 * 1024 * 1024,
    });
    await publish(w.store, w.redis, w.keys, packed, { name: 'same', version: '1.0.0' });
    await installedOn(w, 'share-a', 'same', '1.0.0');
    await installedOn(w, 'share-b', 'same', '1.0.0');
    const kinds = [a, b].map((x) => x.sync.lastResult('same', '1.0.0')?.kind).sort();
    expect(kinds).toEqual(['current', 'installed']);
    expect(readdirSync(join(shared, 'same'))).toEqual(['1.0.0']);
    expect(await treeHash(join(shared, 'same/1.0.0'))).toBe(packed.treeHash);
  });

  it('ignores runtimes published for another architecture', async () => {
    const w = await world();
    const a = await agent(w, 'amd');
    const packed = await buildArtifact(w.dir('art'), {
      name: 'armonly',
      version: '1.0.0',
      arch: 'arm64',
    });
    await publish(w.store, w.redis, w.keys, packed, {
      name: 'armonly',
      version: '1.0.0',
      arch: 'arm64',
    });
    await new Promise((r) => setTimeout(r, 400));
    await a.sync.reconcile();
    expect(existsSync(join(a.config.runtimesDir, 'armonly'))).toBe(false);
    expect(await statusOf(w, 'amd', 'armonly', '1.0.0')).toBeUndefined();
  });
});

describe('RuntimeSync at shutdown', () => {
  it('aborts an install in progress after the deadline and leaves nothing behind', async () => {
    const w = await world();
    const a = createAgent(w.config('halt'), { nodeQueue: false });
    cleanups.push(() => a.stop(1_000));
    await a.start();
    const packed = await buildArtifact(w.dir('art'), {
      name: 'halt',
      version: '1.0.0',
      dataBytes: 128 * 1024 * 1024,
    });
    await publish(w.store, w.redis, w.keys, packed, { name: 'halt', version: '1.0.0' });
    const nameDir = join(a.config.runtimesDir, 'halt');
    await waitFor(
      () => existsSync(nameDir) && readdirSync(nameDir).some((n) => n.includes('.incoming-')),
      'the install under way',
    );
    await a.stop(0);
    expect(existsSync(join(nameDir, '1.0.0'))).toBe(false);
    expect(existsSync(nameDir) ? readdirSync(nameDir) : []).toEqual([]);
  });
});
