/**
 * The worker as a process (`node dist/index.js`, configured by environment), against real Redis
 * and a real S3 server: a worker SIGKILLed mid-build loses nothing (another worker takes the
 * build up once its lock expires and it completes exactly once), and a SIGTERMed worker hands a
 * build it cannot finish in time back to the queue without counting an attempt; two workers of one
 * pool share a backlog, and stopping one of them mid-build loses nothing and runs nothing twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmod, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Keys, buildQueueName, childJobId, createRedis, readAfter } from '@joblet/queue';
import { FarmEvent, type BuildEvent } from '@joblet/spec';
import { ATTACHMENT_FILES } from '@joblet/artifact';
import { hasCommand, isRoot } from '@joblet/sandbox';
import { createArtifactStore, runtimePrefix, type ArtifactStore } from '@joblet/storage';
import {
  makeTempDir,
  startS3Server,
  uniqueName,
  writeTestKeyPair,
  type S3TestServer,
  type TempDir,
} from '@joblet/testkit';
import {
  BUILD_WAIT_MS,
  buildEvents,
  deleteKeys,
  enqueueBuild,
  logLines,
  waitForEvent,
  type Enqueued,
} from '../test-support/flow.js';
import { NOTHING_LEFT, leftovers } from '../test-support/leftovers.js';
import { buildWheel, startPipIndex, type PipIndex } from '@joblet/testkit';

const missing = [
  !isRoot() && 'root',
  !hasCommand('bwrap', ['--version']) && 'bwrap',
  !hasCommand('redis-cli', ['ping']) && 'redis on 127.0.0.1:6379',
].filter(Boolean);

const isPhase = (name: string) => (e: BuildEvent) => e.type === 'phase' && e.name === name;

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '../../dist/index.js');

interface WorkerProcess {
  name: string;
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: string[];
}

describe.skipIf(missing.length > 0)('worker process', () => {
  let tmp: TempDir;
  let s3: S3TestServer;
  let index: PipIndex;
  let redis: Redis;
  let store: ArtifactStore;
  let prefix: string;
  let storageUrl: string;
  const started: WorkerProcess[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('worker-proc');
    // The build sandboxes' root (host uid 100000) must be able to enter the work dir below it.
    await chmod(tmp.path, 0o755);
    writeTestKeyPair(join(tmp.path, 'keys'));
    s3 = await startS3Server();
    index = await startPipIndex(await buildWheel(tmp.path, 'joblet-hello', '1.0', 'joblet_hello'));
    redis = createRedis({ url: 'redis://127.0.0.1:6379' });
  });

  // Each test gets its own bucket (and prefix): s3rver answers a one-key listing (what
  // ensureReady does) with HTTP 500 once a prefix was deleted in a bucket.
  beforeEach(async () => {
    const bucket = uniqueName('artifacts');
    await s3.createBucket(bucket);
    storageUrl = s3.url(bucket);
    store = createArtifactStore(storageUrl);
  });

  afterEach(async () => {
    await store.close();
    for (const w of started.splice(0)) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
      await w.exited;
    }
  });

  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(redis, p);
    await redis?.quit();
    await index?.close();
    await s3?.close();
    await tmp?.cleanup();
  });

  function startWorker(name: string, env: Record<string, string> = {}): WorkerProcess {
    const proc = spawn(process.execPath, [ENTRY], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        QUEUE_PREFIX: prefix,
        STORAGE_URL: storageUrl,
        WORKER_WORK_DIR: join(tmp.path, 'work'),
        WORKER_NAME: name,
        BUILD_PIP_INDEX_URL: index.url,
        // Short locks so a dead worker's build is taken up quickly.
        WORKER_LOCK_DURATION_S: '4',
        WORKER_STALLED_INTERVAL_S: '2',
        WORKER_SIGNING_KEY_FILE: join(tmp.path, 'keys/signing.pem'),
        LOG_LEVEL: 'info',
        ...env,
      },
    });
    const output: string[] = [];
    proc.stdout.on('data', (b: Buffer) => output.push(b.toString()));
    proc.stderr.on('data', (b: Buffer) => output.push(b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const w = { name, proc, exited, output };
    started.push(w);
    return w;
  }

  const spec = (name: string, hooks = '') => `schema_version: "1.0"
name: ${name}
version: 1.0.0
base:
  language: python
  version: "3.11"
pip: [joblet-hello]
${hooks}`;

  const objectsUnder = async (p: string) => {
    const keys: string[] = [];
    for await (const o of store.list(p)) keys.push(o.key);
    return keys.sort();
  };

  it(
    'a SIGKILLed worker: its build is taken up by another worker and completes once',
    async () => {
      prefix = uniqueName('wkill');
      prefixes.push(prefix);
      const a = startWorker('worker-a');
      const b0 = await enqueueBuild(
        redis,
        prefix,
        spec('py-kill', 'apt: [libyaml-0-2]\nhooks:\n  pre_install: sleep 6\n'),
      );
      await waitForEvent(redis, prefix, b0.buildId, isPhase('Running pre_install hook'), 120_000);
      await new Promise((r) => setTimeout(r, 1000)); // mid-build: the sandbox is running
      // Kill the worker and its build child (which would otherwise clean up after itself).
      const childPids = execFileSync('pgrep', ['-P', String(a.proc.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
      a.proc.kill('SIGKILL');
      for (const pid of childPids) process.kill(pid, 'SIGKILL');
      await a.exited;
      const workDir = join(tmp.path, 'work');
      expect((await readdir(workDir)).filter((n) => n.includes(b0.buildId))).toHaveLength(1);

      const b = startWorker('worker-b');
      const events = await waitForEvent(redis, prefix, b0.buildId, undefined, 180_000);
      expect(events.filter((e) => e.type === 'done')).toEqual([
        { type: 'done', state: 'succeeded' },
      ]);
      expect(events.filter((e) => e.type === 'arch-succeeded')).toHaveLength(1);
      const attempts = logLines(events).filter((l) => l.startsWith('attempt '));
      expect(attempts).toEqual([
        'attempt 1/3 on worker worker-a',
        'attempt 1/3 on worker worker-b',
      ]);
      const farm = await readAfter(redis, new Keys(prefix).farmEvents, FarmEvent);
      expect(farm.map((f) => f.event)).toEqual([
        { type: 'runtime.published', name: 'py-kill', version: '1.0.0', arches: ['amd64'] },
      ]);
      // The archive, its signed manifest and the documents beside it (SBOMs, provenance).
      expect(await objectsUnder(runtimePrefix('py-kill'))).toEqual(
        ['manifest.json', 'runtime.tar.zst', ...Object.values(ATTACHMENT_FILES)]
          .map((f) => `runtimes/py-kill/1.0.0/amd64/${f}`)
          .sort(),
      );
      // Worker b removed worker a's leftovers when it started.
      expect(await leftovers({ workDir, store, buildId: b0.buildId })).toEqual(NOTHING_LEFT);
      expect(b.output.join('')).toContain('removed work dir of a dead build');

      b.proc.kill('SIGTERM');
      expect(await b.exited).toEqual({ code: 0, signal: null });
    },
    BUILD_WAIT_MS + 60_000,
  );

  it(
    'a SIGTERMed worker hands a build back without counting an attempt',
    async () => {
      prefix = uniqueName('wdrain');
      prefixes.push(prefix);
      const a = startWorker('worker-a', { WORKER_SHUTDOWN_TIMEOUT_S: '1' });
      const b0 = await enqueueBuild(
        redis,
        prefix,
        spec('py-drain', 'hooks:\n  pre_install: sleep 8\n'),
      );
      await waitForEvent(redis, prefix, b0.buildId, isPhase('Running pre_install hook'), 120_000);
      a.proc.kill('SIGTERM');
      expect(await a.exited).toEqual({ code: 0, signal: null });

      const queue = new Queue(buildQueueName('amd64'), { connection: redis, prefix });
      try {
        const job = await Job.fromId(queue, childJobId(b0.buildId, 'amd64'));
        expect(await job?.getState()).toBe('waiting');
        expect(job?.attemptsMade).toBe(0);
      } finally {
        await queue.close();
      }

      const b = startWorker('worker-b');
      const events = await waitForEvent(redis, prefix, b0.buildId, undefined, 180_000);
      expect(events.filter((e) => e.type === 'done')).toEqual([
        { type: 'done', state: 'succeeded' },
      ]);
      expect(events.filter((e) => e.type === 'arch-retry')).toEqual([]);
      const lines = logLines(events);
      expect(lines).toContain('worker worker-a is shutting down: the build goes back to the queue');
      expect(lines.filter((l) => l.startsWith('attempt '))).toEqual([
        'attempt 1/3 on worker worker-a',
        'attempt 1/3 on worker worker-b',
      ]);
      expect(
        await leftovers({ workDir: join(tmp.path, 'work'), store, buildId: b0.buildId }),
      ).toEqual(NOTHING_LEFT);
      b.proc.kill('SIGTERM');
      expect(await b.exited).toEqual({ code: 0, signal: null });
    },
    BUILD_WAIT_MS + 60_000,
  );
  it('two workers share a backlog; stopping one mid-build loses nothing and runs nothing twice', async () => {
    prefix = uniqueName('wpool');
    prefixes.push(prefix);
    const a = startWorker('worker-a', { WORKER_SHUTDOWN_TIMEOUT_S: '1' });
    const b = startWorker('worker-b');
    const names = ['py-pool-1', 'py-pool-2', 'py-pool-3', 'py-pool-4'];
    const builds: Enqueued[] = [];
    for (const n of names) {
      builds.push(await enqueueBuild(redis, prefix, spec(n, 'hooks:\n  pre_install: sleep 5\n')));
    }
    /** The worker whose attempt is running a build's hook right now, per build. */
    const running = async () => {
      const out = new Map<string, string>();
      for (const bld of builds) {
        const events = await buildEvents(redis, prefix, bld.buildId);
        const last = logLines(events)
          .filter((l) => l.startsWith('attempt '))
          .at(-1);
        const phase = events.filter((e) => e.type === 'phase').at(-1);
        const inHook = phase !== undefined && isPhase('Running pre_install hook')(phase);
        if (last && inHook && !events.some((e) => e.type === 'done')) out.set(bld.buildId, last);
      }
      return out;
    };
    // Both workers take a build from the one backlog at the same time.
    const deadline = Date.now() + 120_000;
    let busy = new Map<string, string>();
    while (Date.now() < deadline) {
      busy = await running();
      const who = [...busy.values()];
      if (who.some((l) => l.endsWith('worker-a')) && who.some((l) => l.endsWith('worker-b'))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const aBuild = [...busy.entries()].find(([, l]) => l.endsWith('worker-a'))?.[0];
    expect(aBuild, `both workers busy at once: ${JSON.stringify([...busy])}`).toBeDefined();
    expect([...busy.values()].some((l) => l.endsWith('worker-b'))).toBe(true);

    // Scale in: worker-a is told to stop in the middle of its build and hands it back.
    a.proc.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });

    for (const bld of builds) {
      const events = await waitForEvent(redis, prefix, bld.buildId, undefined, BUILD_WAIT_MS);
      expect(
        events.filter((e) => e.type === 'done'),
        bld.buildId,
      ).toEqual([{ type: 'done', state: 'succeeded' }]);
      expect(events.filter((e) => e.type === 'arch-succeeded')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'arch-retry')).toEqual([]);
    }
    const handedBack = logLines(await buildEvents(redis, prefix, aBuild!));
    expect(handedBack).toContain(
      'worker worker-a is shutting down: the build goes back to the queue',
    );
    expect(handedBack.filter((l) => l.startsWith('attempt '))).toEqual([
      'attempt 1/3 on worker worker-a',
      'attempt 1/3 on worker worker-b',
    ]);
    // Each runtime published exactly once.
    const farm = await readAfter(redis, new Keys(prefix).farmEvents, FarmEvent);
    const published = farm
      .flatMap((f) => (f.event.type === 'runtime.published' ? [f.event.name] : []))
      .sort();
    expect(published).toEqual(names);
    for (const bld of builds) {
      expect(
        await leftovers({ workDir: join(tmp.path, 'work'), store, buildId: bld.buildId }),
      ).toEqual(NOTHING_LEFT);
    }
    b.proc.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
  }, 420_000);
});
