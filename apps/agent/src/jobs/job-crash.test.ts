// An agent killed with SIGKILL in the middle of a job (the built agent, `node dist/index.js`, as a
// real process): the job's processes die with it, the job is not run again by another node, and
// it is recorded FAILED (node lost) — by the other node's worker when BullMQ fails the stalled
// job, or by the same agent when it comes back first. Its restart removes the job's leftovers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JobStore,
  RUN_JOB,
  createRedis,
  enqueue,
  jobQueueName,
  nodeQueueName,
  readAfter,
} from '@joblet/queue';
import { CgroupManager, processStartTime } from '@joblet/sandbox';
import { JobEvent, NodeRuntimeStatus, type JobRecord } from '@joblet/spec';
import { createAgent, type Agent } from '../agent.js';
import { REDIS_URL, makeWorld, publish, waitFor, type World } from '../test-support.js';
import { RUNTIME, buildDebianRuntime, missingForJobs } from './job-test-support.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const missing = missingForJobs();

describe.skipIf(missing.length > 0)(
  `an agent killed mid-job [requires ${missing.join(', ') || 'root, bwrap, the bookworm root'}]`,
  () => {
    let w: World;
    let store: JobStore;
    let queue: Queue;
    let queueConnection: ReturnType<typeof createRedis>;
    const children: ChildProcess[] = [];
    const agents: Agent[] = [];
    let jobsNamespaceDirs: string[];

    function startAgent(node: string): { child: ChildProcess; output: () => string } {
      const cfg = w.config(node);
      const child = spawn(process.execPath, [join(appDir, 'dist/index.js')], {
        env: {
          PATH: process.env.PATH,
          AGENT_NAME: node,
          AGENT_ARCH: 'amd64',
          REDIS_URL,
          QUEUE_PREFIX: w.prefix,
          STORAGE_URL: w.storeUrl,
          RUNTIMES_DIR: cfg.runtimesDir,
          AGENT_WORK_DIR: cfg.workDir,
          AGENT_VOLUMES_DIR: join(w.tmp.path, `${node}-volumes`),
          AGENT_HEARTBEAT_S: '1',
          AGENT_MIN_FREE_MB: '0',
          AGENT_JOB_LOCK_S: '3',
          AGENT_TRUSTED_KEYS: w.trustedKeyFile,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      children.push(child);
      return { child, output: () => out };
    }

    function exited(child: ChildProcess): Promise<unknown> {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((r) => child.once('exit', r));
    }

    async function installedOn(node: string): Promise<void> {
      await waitFor(
        async () => {
          const raw = await w.redis.hget(w.keys.nodeRuntimes(node), 'deb@1.0.0');
          return raw !== null && NodeRuntimeStatus.parse(JSON.parse(raw)).state === 'installed';
        },
        `the runtime installed on ${node}`,
        60_000,
      );
    }

    async function submit(args: string[]): Promise<string> {
      const id = randomUUID();
      const record: JobRecord = {
        id,
        state: 'QUEUED',
        command: 'sh',
        args,
        runtime: { ref: 'deb', ...RUNTIME },
        arch: 'amd64',
        network: 'none',
        limits: {},
        volumes: [],
        env: [],
        uploads: [],
        createdAt: new Date().toISOString(),
      };
      await store.create(record);
      await enqueue(queue, RUN_JOB, { jobId: id });
      return id;
    }

    async function events(id: string): Promise<JobEvent[]> {
      return (await readAfter(w.redis, w.keys.jobEvents(id), JobEvent, '0', 10_000)).map(
        (e) => e.event,
      );
    }

    /** The pids in the job's cgroup (the agent's default namespace, `joblet-jobs`). */
    function jobPids(id: string): number[] {
      const pids = new Set<number>();
      for (const ns of jobsNamespaceDirs) {
        const f = join(ns, `job-${id}`, 'cgroup.procs');
        if (!existsSync(f)) continue;
        for (const l of readFileSync(f, 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
      }
      return [...pids];
    }

    beforeAll(async () => {
      // The test runs what ships: the esbuild bundle of src/index.ts.
      execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: appDir });
      w = await makeWorld();
      store = new JobStore(w.redis, w.keys);
      queueConnection = createRedis({ url: REDIS_URL });
      queue = new Queue(jobQueueName('amd64'), { connection: queueConnection, prefix: w.prefix });
      const packed = await buildDebianRuntime(w.dir('art'));
      await publish(w.store, w.redis, w.keys, packed, RUNTIME);
      jobsNamespaceDirs = (
        await CgroupManager.detect({ namespace: 'joblet-jobs' })
      ).namespaceDirs();
    });

    afterAll(async () => {
      for (const c of children) c.kill('SIGKILL');
      for (const a of agents) await a.stop(2_000);
      await queue?.close();
      await queueConnection?.quit();
      await w?.cleanup();
    });

    it('is FAILED node-lost by another node, never run twice; the restart cleans up', async () => {
      const a = startAgent('crash-a');
      await installedOn('crash-a');
      const id = await submit(['-c', 'echo started; sleep 1000 & sleep 1000']);
      await waitFor(
        async () => (await events(id)).some((e) => e.type === 'out' && e.line === 'started'),
        `the job running (agent output: ${a.output()})`,
        30_000,
      );
      expect(await store.get(id)).toMatchObject({ state: 'RUNNING', node: 'crash-a' });
      const pids = jobPids(id);
      expect(pids.length).toBeGreaterThanOrEqual(3);
      const workDir = join(w.config('crash-a').workDir, id);
      expect(existsSync(workDir)).toBe(true);

      a.child.kill('SIGKILL');
      await exited(a.child);
      // bwrap dies with its parent, and the PID namespace with it.
      await waitFor(
        async () => {
          const alive = await Promise.all(pids.map((p) => processStartTime(p)));
          return alive.every((s) => s === null) || undefined;
        },
        'the job processes to die with the agent',
        10_000,
      );

      // Another node of the same architecture takes over the queue: the job's lock expires (3 s),
      // BullMQ fails it as stalled, and that node records it lost — without running it.
      const b = createAgent(w.config('crash-b', { jobLockMs: 3_000 }));
      agents.push(b);
      await b.start();
      const rec = await waitFor(
        async () => {
          const r = await store.get(id);
          return r?.state === 'FAILED' ? r : undefined;
        },
        'the job to be recorded lost',
        30_000,
      );
      expect(rec).toMatchObject({ reason: 'node-lost', node: 'crash-a' });
      expect(rec.message).toContain('crash-a');
      // The record is written first, then its end event.
      const all = await waitFor(async () => {
        const es = await events(id);
        return es.at(-1)?.type === 'end' ? es : undefined;
      }, 'the end event');
      const states = all.flatMap((e) => (e.type === 'out' ? [] : [e.state]));
      expect(states).toEqual(['QUEUED', 'INITIALIZING', 'RUNNING', 'FAILED']);
      const bull = await queue.getJob(id);
      expect(bull?.failedReason).toBe('job stalled more than allowable limit');

      // The killed agent comes back: its job's cgroup and directory are removed.
      expect(jobPids(id)).toEqual([]);
      expect(existsSync(workDir)).toBe(true);
      const again = startAgent('crash-a');
      await waitFor(
        () => !existsSync(workDir) || undefined,
        `leftovers removed (agent output: ${again.output()})`,
        30_000,
      );
      expect(jobsNamespaceDirs.some((d) => existsSync(join(d, `job-${id}`)))).toBe(false);
      again.child.kill('SIGTERM');
      await exited(again.child);
    });

    it('an agent back before anyone noticed records its own lost job', async () => {
      const a = startAgent('crash-c');
      await installedOn('crash-c');
      // Pinned to crash-c's own queue: no other node could take it anyway.
      const id = randomUUID();
      await store.create({
        id,
        state: 'QUEUED',
        command: 'sh',
        args: ['-c', 'echo started; sleep 1000'],
        runtime: { ref: 'deb', ...RUNTIME },
        arch: 'amd64',
        pinnedNode: 'crash-c',
        network: 'none',
        limits: {},
        volumes: [],
        env: [],
        uploads: [],
        createdAt: new Date().toISOString(),
      });
      const nodeQueue = new Queue(nodeQueueName('crash-c'), {
        connection: queueConnection,
        prefix: w.prefix,
      });
      try {
        await enqueue(nodeQueue, RUN_JOB, { jobId: id });
        await waitFor(
          async () => (await events(id)).some((e) => e.type === 'out' && e.line === 'started'),
          `the pinned job running (agent output: ${a.output()})`,
          30_000,
        );
        a.child.kill('SIGKILL');
        await exited(a.child);
        const back = startAgent('crash-c');
        const rec = await waitFor(
          async () => {
            const r = await store.get(id);
            return r?.state === 'FAILED' ? r : undefined;
          },
          `the job recorded lost by the restarted agent (output: ${back.output()})`,
          30_000,
        );
        expect(rec).toMatchObject({ reason: 'node-lost' });
        expect(rec.message).toMatch(/restarted|stopped/);
        const ins = (await events(id)).filter(
          (e) => e.type === 'state' && e.state === 'INITIALIZING',
        );
        expect(ins).toHaveLength(1);
        back.child.kill('SIGTERM');
        await exited(back.child);
        expect(readdirSync(w.config('crash-c').workDir).filter((n) => n === id)).toEqual([]);
      } finally {
        await nodeQueue.close();
      }
    });
  },
);
