// Fixtures for the job runner's tests (not part of the app): a real Debian runtime built from the
// worker's cached bookworm root, published and installed by a real RuntimeSync, a JobRunner on
// real Redis (own prefix), real bwrap and real cgroups (own namespace), and jobs submitted the
// way the API submits them: record + `{ env, uploads }` beside it + `run-job` on `jobs-<arch>`.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { silentLogger } from '@joblet/logging';
import {
  RUN_JOB,
  createRedis,
  enqueue,
  jobQueueName,
  readAfter,
  type JobStore,
} from '@joblet/queue';
import { CgroupManager, hasCommand, hasUnprivilegedUserns, isRoot } from '@joblet/sandbox';
import {
  FINAL_JOB_STATES,
  JobEvent,
  JobRequest,
  type JobRecord,
  type UploadFile,
} from '@joblet/spec';
import { RuntimeSync } from '../runtimes/runtime-sync.service.js';
import {
  DEBIAN_ROOT,
  buildArtifact,
  makeDebianTree,
  makeWorld,
  publish,
  waitFor,
  type Packed,
  type TreeOptions,
  type World,
} from '../test-support.js';
import { JobRunner, type JobRunnerOptions } from './job-runner.service.js';

export const RUNTIME = { name: 'deb', version: '1.0.0' };

/**
 * The Debian runtime tree packed (test-support's makeDebianTree). The tree hard-links the cached
 * root, whose inodes other tests link too: tar may see a link count change ("file changed as we
 * read it"), so packing is retried.
 */
export async function buildDebianRuntime(dir: string, o: TreeOptions = RUNTIME): Promise<Packed> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await buildArtifact(dir, o, makeDebianTree);
    } catch (err) {
      if (attempt >= 4 || !/file changed as we read it/.test(String(err))) throw err;
    }
  }
}

/** What the job tests need of this host; empty when they can run. */
export function missingForJobs(): string[] {
  const out: string[] = [];
  if (!isRoot()) out.push('root');
  if (!existsSync(DEBIAN_ROOT)) out.push(`the cached bookworm root (${DEBIAN_ROOT})`);
  if (!hasCommand('bwrap', ['--version'])) out.push('bwrap');
  if (!hasUnprivilegedUserns()) out.push('user namespaces');
  return out;
}

export interface Harness {
  w: World;
  sync: RuntimeSync;
  runner: JobRunner;
  cgroups: CgroupManager;
  store: JobStore;
  node: string;
  /** Submits like the API: record (QUEUED), secrets, then `run-job` on `jobs-amd64`. */
  submit(
    req: Partial<JobRequest> & { command: string },
    o?: { secrets?: unknown; delayMs?: number },
  ): Promise<string>;
  /** Polls until the job is in a final state. */
  waitEnd(id: string, timeoutMs?: number): Promise<JobRecord>;
  events(id: string): Promise<JobEvent[]>;
  /** stdout lines, in order. */
  stdout(id: string): Promise<string[]>;
  /** All output lines (stdout and stderr) in order. */
  output(id: string): Promise<string[]>;
  /** The job's cgroup directories (that exist now). */
  cgroupDirs(id: string): string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  runner?: Partial<JobRunnerOptions>;
  /** A Redis of the test's own (default: REDIS_URL). */
  redisUrl?: string;
}

export async function makeHarness(o: HarnessOptions = {}): Promise<Harness> {
  const w = await makeWorld(o.redisUrl !== undefined ? { redisUrl: o.redisUrl } : {});
  const node = 'jobnode';
  const cfg = w.config(node);
  const log = silentLogger();
  const packed = await buildDebianRuntime(w.dir('art'));
  await publish(w.store, w.redis, w.keys, packed, RUNTIME);
  const sync = new RuntimeSync({
    node,
    arch: 'amd64',
    runtimesDir: cfg.runtimesDir,
    store: w.store,
    redis: w.redis,
    blocking: createRedis({ url: w.redisUrl }),
    keys: w.keys,
    log,
    minFreeBytes: 0,
    maxArtifactBytes: cfg.maxArtifactBytes,
    trustedKeys: cfg.trustedKeys,
    reconcileIntervalMs: 0,
    followBlockMs: 200,
  });
  await sync.start();
  await waitFor(
    async () => (await sync.layout.isInstalled(RUNTIME.name, RUNTIME.version)) || undefined,
    'runtime installed',
    60_000,
  );
  const ns = `jt-jobs-${process.pid}-${randomUUID().slice(0, 6)}`;
  const cgroups = await CgroupManager.detect({ namespace: ns });
  const runner = new JobRunner({
    node,
    arch: 'amd64',
    capacity: 4,
    redis: w.redis,
    prefix: w.prefix,
    keys: w.keys,
    workDir: w.dir('work'),
    volumesDir: join(w.tmp.path, 'volumes'),
    runtimes: sync,
    log,
    cgroups,
    ...o.runner,
  });
  await runner.start();
  const queueConnection = createRedis({ url: w.redisUrl });
  const queue = new Queue(jobQueueName('amd64'), { connection: queueConnection, prefix: w.prefix });
  const store = runner.store;

  const readEvents = async (id: string) => {
    const out: JobEvent[] = [];
    let after = '0';
    for (;;) {
      const batch = await readAfter(w.redis, w.keys.jobEvents(id), JobEvent, after, 10_000);
      if (batch.length === 0) return out;
      for (const e of batch) out.push(e.event);
      after = batch.at(-1)!.id;
    }
  };

  return {
    w,
    sync,
    runner,
    cgroups,
    store,
    node,
    async submit(raw, opts = {}) {
      const req = JobRequest.parse({ runtime: `${RUNTIME.name}@${RUNTIME.version}`, ...raw });
      const id = randomUUID();
      const scheduledFor =
        opts.delayMs !== undefined ? new Date(Date.now() + opts.delayMs).toISOString() : undefined;
      const record: JobRecord = {
        id,
        state: scheduledFor ? 'SCHEDULED' : 'QUEUED',
        ...(scheduledFor && { scheduledFor }),
        command: req.command,
        args: req.args,
        runtime: { ref: req.runtime ?? RUNTIME.name, ...RUNTIME },
        arch: 'amd64',
        network: req.network ?? 'none',
        limits: req.limits,
        volumes: req.volumes,
        env: Object.keys(req.env),
        uploads: req.uploads.map((u: UploadFile) => ({
          path: u.path,
          bytes: Buffer.byteLength(u.content, 'base64'),
        })),
        createdAt: new Date().toISOString(),
      };
      if (raw.runtime?.includes('@')) {
        const [name, version] = raw.runtime.split('@') as [string, string];
        record.runtime = { ref: raw.runtime, name, version };
      }
      await w.redis.set(
        w.keys.jobUploads(id),
        JSON.stringify(opts.secrets ?? { env: req.env, uploads: req.uploads }),
        'EX',
        3600,
      );
      await store.create(record);
      await enqueue(
        queue,
        RUN_JOB,
        { jobId: id },
        opts.delayMs !== undefined ? { delay: opts.delayMs } : {},
      );
      return id;
    },
    async waitEnd(id, timeoutMs = 60_000) {
      return waitFor(
        async () => {
          const r = await store.get(id);
          return r && FINAL_JOB_STATES.includes(r.state) ? r : undefined;
        },
        `job ${id} to end`,
        timeoutMs,
      );
    },
    events: readEvents,
    async stdout(id) {
      return (await readEvents(id)).flatMap((e) =>
        e.type === 'out' && e.stream === 'stdout' ? [e.line] : [],
      );
    },
    async output(id) {
      return (await readEvents(id)).flatMap((e) => (e.type === 'out' ? [e.line] : []));
    },
    cgroupDirs(id) {
      return cgroups
        .namespaceDirs()
        .map((d) => join(d, `job-${id}`))
        .filter((d) => existsSync(d));
    },
    async close() {
      await runner.stop(5_000);
      await queue.close();
      await queueConnection.quit();
      await sync.stop(5_000);
      await cgroups.removeNamespace();
      await w.cleanup();
    },
  };
}

/** An upload as `rnx job run --upload` sends it. */
export function upload(path: string, content: string, mode = 0o644): UploadFile {
  return { path, content: Buffer.from(content).toString('base64'), mode };
}
