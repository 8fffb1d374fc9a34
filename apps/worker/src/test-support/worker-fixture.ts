/**
 * An in-process worker for end-to-end tests: its own queue prefix, temp dir (directory store and
 * work dir), local pip index, Redis connection and signing key pair (the worker publishes, so
 * it signs); the host's real base-root and download caches. `useWorkerFixture()` registers the vitest hooks that start and stop it.
 */
import { chmod } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { createRedis } from '@joblet/queue';
import { type BuildEvent } from '@joblet/spec';
import { hasCommand, isRoot } from '@joblet/sandbox';
import { createArtifactStore, indexKey, runtimePrefix, type ArtifactStore } from '@joblet/storage';
import {
  makeTempDir,
  uniqueName,
  writeTestKeyPair,
  type TempDir,
  type TestKeyFiles,
} from '@joblet/testkit';
import { readWorkerEnv, type WorkerConfig } from '../env.js';
import { createWorker, type FarmWorker } from '../worker.js';
import {
  deleteKeys,
  enqueueBuild,
  waitForEvent,
  type EnqueueOptions,
  type Enqueued,
} from './flow.js';
import { NOTHING_LEFT, leftovers } from './leftovers.js';
import { buildWheel, startPipIndex, type PipIndex } from '@joblet/testkit';

/** What this host lacks for end-to-end builds (tests skip, naming it). */
export const E2E_MISSING = [
  !isRoot() && 'root',
  !hasCommand('bwrap', ['--version']) && 'bwrap',
  // WORKER_BUILD_NETWORK=isolated, the default.
  !hasCommand('slirp4netns', ['--version']) && 'slirp4netns',
  !hasCommand('unshare', ['--version']) && 'unshare',
  !hasCommand('redis-cli', ['ping']) && 'redis on 127.0.0.1:6379',
].filter((m): m is string => typeof m === 'string');

/** A python 3.11 spec with `body` appended. */
export function pySpec(body: string, version = '1.0.0', name = 'py-test'): string {
  return `schema_version: "1.0"
name: ${name}
version: ${version}
description: worker e2e test
base:
  language: python
  version: "3.11"
${body}`;
}

export interface WorkerFixture {
  tmp: TempDir;
  index: PipIndex;
  redis: Redis;
  store: ArtifactStore;
  config: WorkerConfig;
  /** WORKER_SIGNING_KEY_FILE's pair: published manifests verify against `publicKeyFile`. */
  signing: TestKeyFiles;
  worker: FarmWorker;
  prefix: string;
  /** Prefixes whose Redis keys are deleted at the end (add your own). */
  prefixes: string[];
  /** Enqueues a build and waits for its `done` event. */
  run(spec: string, opts?: EnqueueOptions): Promise<{ b: Enqueued; events: BuildEvent[] }>;
  expectNothingLeft(buildId: string): Promise<void>;
  expectNotPublished(b: Enqueued): Promise<void>;
}

export function doneEvent(events: BuildEvent[]): BuildEvent | undefined {
  return events.find((e) => e.type === 'done');
}

export function useWorkerFixture(name: string, env: Record<string, string> = {}): WorkerFixture {
  const f = { prefixes: [] as string[] } as unknown as WorkerFixture;
  beforeAll(async () => {
    f.tmp = await makeTempDir(`worker-${name}`);
    // Runtimes are read by an unprivileged uid: the path to extracted ones must be traversable.
    await chmod(f.tmp.path, 0o755);
    f.index = await startPipIndex(
      await buildWheel(f.tmp.path, 'joblet-hello', '1.0', 'joblet_hello'),
    );
    f.prefix = uniqueName(name);
    f.prefixes.push(f.prefix);
    f.signing = writeTestKeyPair(`${f.tmp.path}/keys`);
    f.config = readWorkerEnv({
      QUEUE_PREFIX: f.prefix,
      STORAGE_URL: `file://${f.tmp.path}/store`,
      WORKER_WORK_DIR: `${f.tmp.path}/work`,
      WORKER_NAME: 'e2e-worker',
      BUILD_PIP_INDEX_URL: f.index.url,
      LOG_LEVEL: 'warn',
      WORKER_SIGNING_KEY_FILE: f.signing.privateKeyFile,
      ...env,
    });
    f.redis = createRedis({ url: f.config.redisUrl });
    f.store = createArtifactStore(f.config.storageUrl);
    f.worker = await createWorker(f.config);
  });
  afterAll(async () => {
    await f.worker?.close({ deadlineMs: 5_000 });
    for (const p of f.prefixes) await deleteKeys(f.redis, p);
    await f.redis?.quit();
    await f.store?.close();
    await f.index?.close();
    await f.tmp?.cleanup();
  });
  f.run = async (spec, opts = {}) => {
    const b = await enqueueBuild(f.redis, f.prefix, spec, opts);
    return { b, events: await waitForEvent(f.redis, f.prefix, b.buildId) };
  };
  f.expectNothingLeft = async (buildId) => {
    const left = await leftovers({ workDir: f.config.workDir, store: f.store, buildId });
    expect(left).toEqual(NOTHING_LEFT);
  };
  f.expectNotPublished = async (b) => {
    expect(await f.store.exists(indexKey(b.name, b.version))).toBe(false);
    const objects: string[] = [];
    for await (const o of f.store.list(runtimePrefix(b.name, b.version))) objects.push(o.key);
    expect(objects).toEqual([]);
  };
  return f;
}
