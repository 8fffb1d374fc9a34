/**
 * The three apps against one Redis of a test's own (a Cluster, a Sentinel set, an ACL server),
 * each configured through its real env reader from variables of its own (REDIS_URL,
 * REDIS_USERNAME, REDIS_PASSWORD_FILE, …), in process: the API (buildApp, requests by inject), an
 * agent (createAgent) and an amd64 build worker (createWorker, WORKER_PUBLISH=false). Then
 * {@link exerciseFarm} makes each do real work that crosses Redis.
 */
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { expect } from 'vitest';
import { silentLogger } from '@joblet/logging';
import { BuildStore, buildQueueName, childJobId } from '@joblet/queue';
import { makeTempDir, writeTestKeyPair, type TempDir } from '@joblet/testkit';
import { createAgent, readAgentEnv, type Agent } from '@joblet/agent/testing';
import { readApiEnv, startTestApi, type TestApi } from '@joblet/api/testing';
import { createWorker, readWorkerEnv, type FarmWorker } from '@joblet/worker/testing';

/** Each app's own environment (its Redis URL and credentials); the rest is filled in here. */
export interface FarmEnvs {
  api: Record<string, string>;
  worker: Record<string, string>;
  agent: Record<string, string>;
}

export interface RedisFarm {
  api: TestApi;
  agent: Agent;
  worker?: FarmWorker;
  node: string;
  prefix: string;
  tmp: TempDir;
  /** The whole environment each app was configured with (for a health check, say). */
  envs: FarmEnvs;
  /** Starts the worker (after the test has queued what it should find). */
  startWorker(): Promise<FarmWorker>;
  close(): Promise<void>;
}

const SPEC = `schema_version: "1.0"
name: redis-farm
version: 1.0.0
description: a build the worker finds canceled
base:
  language: python
  version: "3.11"
`;

/** Starts the API and an agent (the worker comes with `startWorker`) under `prefix`. */
export async function startRedisFarm(envs: FarmEnvs, prefix: string): Promise<RedisFarm> {
  const tmp = await makeTempDir('redis-farm');
  // The build sandboxes' root (host uid 100000) must be able to enter the work dir below it.
  await chmod(tmp.path, 0o755);
  const node = `rf-${Date.now().toString(36)}`;
  const apiEnv = readApiEnv({ ...envs.api, QUEUE_PREFIX: prefix });
  const api = await startTestApi(['amd64'], { redis: apiEnv.redis, prefix });
  const keys = writeTestKeyPair(join(tmp.path, 'keys'));
  const agentEnv = {
    ...envs.agent,
    QUEUE_PREFIX: prefix,
    AGENT_NAME: node,
    AGENT_ARCH: 'amd64',
    AGENT_HEARTBEAT_S: '1',
    AGENT_MIN_FREE_MB: '0',
    STORAGE_URL: `file://${join(tmp.path, 'store')}`,
    RUNTIMES_DIR: join(tmp.path, 'runtimes'),
    AGENT_WORK_DIR: join(tmp.path, 'jobs'),
    AGENT_VOLUMES_DIR: join(tmp.path, 'volumes'),
    AGENT_TRUSTED_KEYS: keys.publicKeyFile,
  };
  const workerEnv = {
    ...envs.worker,
    QUEUE_PREFIX: prefix,
    WORKER_ARCH: 'amd64',
    WORKER_PUBLISH: 'false',
    WORKER_NAME: 'redis-farm-worker',
    STORAGE_URL: `file://${join(tmp.path, 'store')}`,
    WORKER_CACHE_DIR: join(tmp.path, 'cache'),
    WORKER_WORK_DIR: join(tmp.path, 'work'),
    LOG_LEVEL: 'silent',
  };
  const agentConfig = readAgentEnv(agentEnv);
  const agent = createAgent(agentConfig, { log: silentLogger() });
  const farm: RedisFarm = {
    api,
    agent,
    node,
    prefix,
    tmp,
    envs: { api: { ...envs.api, QUEUE_PREFIX: prefix }, worker: workerEnv, agent: agentEnv },
    async startWorker() {
      const config = readWorkerEnv(workerEnv);
      // No build runs here (the worker finds it canceled): the child script is never started.
      farm.worker = await createWorker(config, {
        log: silentLogger(),
        childScript: join(tmp.path, 'no-build-child.js'),
      });
      return farm.worker;
    },
    async close() {
      await farm.worker?.close({ deadlineMs: 2_000 }).catch(() => undefined);
      await agent.stop(2_000).catch(() => undefined);
      await api.close();
      await tmp.cleanup();
    },
  };
  try {
    await agent.start();
  } catch (err) {
    await farm.close();
    throw err;
  }
  return farm;
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Real work through Redis by every app: the agent registers (the API lists it online), the API
 * has the agent create a volume through the node's queue (201 when the agent answered), the API
 * queues a build flow, and the worker takes the build from its pool's queue — canceled meanwhile,
 * it records the arch as canceled and fails the job, as a worker does with any canceled build —
 * and the API counts the pool's live worker.
 */
export async function exerciseFarm(farm: RedisFarm): Promise<void> {
  const { api, node } = farm;
  const nodes = await eventually('the node online', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/v1/nodes' });
    const list = res.json<{ nodes: { name: string; online: boolean }[] }>().nodes;
    return list.some((n) => n.name === node && n.online) ? list : undefined;
  });
  expect(nodes.map((n) => n.name)).toContain(node);

  const volume = await api.app.inject({
    method: 'POST',
    url: '/v1/volumes',
    payload: { name: 'scratch', node },
  });
  expect(volume.statusCode, volume.body).toBe(201);
  expect(existsSync(join(farm.tmp.path, 'volumes', 'scratch'))).toBe(true);

  const submitted = await api.app.inject({
    method: 'POST',
    url: '/v1/builds',
    payload: { spec: SPEC, architectures: ['amd64'] },
  });
  expect(submitted.statusCode, submitted.body).toBe(202);
  const buildId = submitted.json<{ build: { id: string } }>().build.id;
  // Canceled behind the queue's back (the API's own cancel would also remove the waiting job).
  await new BuildStore(api.redis, api.app.keys).finish(buildId, 'canceled', {
    code: 'CANCELED',
    message: 'canceled by the test',
  });
  await farm.startWorker();
  const queue = new Queue(buildQueueName('amd64'), { connection: api.redis, prefix: farm.prefix });
  try {
    const failed = await eventually('the worker to take the build', async () => {
      const job = await Job.fromId(queue, childJobId(buildId, 'amd64'));
      return (await job?.getState()) === 'failed' ? job : undefined;
    });
    expect(failed.failedReason).toMatch(/CANCELED/);
    // The API sees the pool's live worker (BullMQ lists the clients of the queue).
    const pools = await api.app.inject({ method: 'GET', url: '/v1/pools' });
    expect(pools.statusCode, pools.body).toBe(200);
    expect(pools.json()).toMatchObject({ pools: [{ arch: 'amd64', workers: 1 }] });
    const build = await api.app.inject({ method: 'GET', url: `/v1/builds/${buildId}` });
    expect(build.json()).toMatchObject({ archStatus: { amd64: { state: 'canceled' } } });
  } finally {
    await queue.close();
  }
}
