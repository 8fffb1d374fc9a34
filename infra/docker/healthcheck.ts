/**
 * Container health check for the farm's apps: `node dist/healthcheck.js api|worker|agent`.
 * Exit 0 = healthy, 1 = not. Bundled next to each app's `dist/index.js` by `build-app.sh`, and
 * run by Docker's HEALTHCHECK / compose `healthcheck` / a Kubernetes exec probe.
 *
 * It reads the same configuration as the app (the app's own `env.ts`), so it checks what the app
 * is configured to be:
 * - api: `GET /healthz` answers 200 on the configured port (HTTPS when API_TLS_CERT is set);
 * - worker: a BullMQ worker of this container is connected to its arch's build queue;
 * - agent: this node's heartbeat in Redis is fresh and the agent has not stopped.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { Keys, buildQueueName, createRedisConnection } from '@joblet/queue';
import { NODE_OFFLINE_AFTER_MS } from '@joblet/spec';
import { readApiEnv } from '../../apps/api/src/env.js';
import { readAgentEnv } from '../../apps/agent/src/env.js';
import { readWorkerEnv } from '../../apps/worker/src/env.js';

/** One check must finish well within compose's/k8s's probe timeout (ms). */
const CHECK_TIMEOUT_MS = 8000;

/** Where a local client reaches a server bound to `host`. */
export function probeHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}

/**
 * TLS alerts a server sends when it demands a client certificate we did not present: the server
 * is up and speaking TLS, which is all a liveness check can learn without a client certificate.
 */
export function isClientCertDemand(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code);
}

async function checkApi(env: NodeJS.ProcessEnv): Promise<string> {
  const cfg = readApiEnv(env);
  const tls = Boolean(cfg.API_TLS_CERT);
  const request = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: probeHost(cfg.API_HOST),
        port: cfg.API_PORT,
        path: '/healthz',
        timeout: CHECK_TIMEOUT_MS,
        // We probe our own process over loopback; its certificate names the public host.
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        if (res.statusCode === 200) resolve(`api: /healthz 200`);
        else reject(new Error(`api: /healthz answered ${res.statusCode}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error('api: /healthz timed out')));
    req.on('error', (err) => {
      if (tls && isClientCertDemand(err)) resolve('api: TLS up (client certificate required)');
      else reject(err);
    });
    req.end();
  });
}

/** True when a BullMQ client name belongs to a worker called `name`, or `<prefix>-…` of it. */
export function isOurWorker(rawName: string, opts: { name?: string; namePrefix: string }): boolean {
  const at = rawName.indexOf(':w:');
  if (at < 0) return false;
  const worker = rawName.slice(at + 3);
  return opts.name !== undefined ? worker === opts.name : worker.startsWith(opts.namePrefix);
}

async function checkWorker(env: NodeJS.ProcessEnv, redis: Redis | Cluster): Promise<string> {
  const cfg = readWorkerEnv(env);
  const queue = new Queue(buildQueueName(cfg.arch), {
    connection: redis,
    prefix: cfg.queuePrefix,
  });
  try {
    const clients = (await queue.getWorkers()) as { rawname?: string }[];
    // The worker's default name is `<hostname>-<pid>`: any pid of this container counts.
    const match = { name: env.WORKER_NAME || undefined, namePrefix: `${hostname()}-` };
    if (!clients.some((c) => isOurWorker(c.rawname ?? '', match))) {
      throw new Error(`worker: no worker of this container on ${buildQueueName(cfg.arch)}`);
    }
    return `worker: consuming ${buildQueueName(cfg.arch)}`;
  } finally {
    await queue.close();
  }
}

/** Why a node record is unhealthy, or undefined when it is fine. */
export function heartbeatProblem(record: string | null, nowMs: number): string | undefined {
  if (record === null) return 'no heartbeat record';
  const info = JSON.parse(record) as { lastHeartbeat?: string; stoppedAt?: string };
  if (info.stoppedAt) return `stopped at ${info.stoppedAt}`;
  const age = nowMs - Date.parse(info.lastHeartbeat ?? '');
  if (!(age < NODE_OFFLINE_AFTER_MS)) return `last heartbeat ${Math.round(age / 1000)} s ago`;
  return undefined;
}

async function checkAgent(env: NodeJS.ProcessEnv, redis: Redis | Cluster): Promise<string> {
  const cfg = readAgentEnv(env);
  const problem = heartbeatProblem(
    await redis.get(new Keys(cfg.queuePrefix).node(cfg.name)),
    Date.now(),
  );
  if (problem) throw new Error(`agent ${cfg.name}: ${problem}`);
  return `agent ${cfg.name}: heartbeat fresh`;
}

/** Runs the check for `app` and returns what it found; rejects when unhealthy. */
export async function runHealthcheck(app: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (app === 'api') return checkApi(env);
  if (app !== 'worker' && app !== 'agent') {
    throw new Error(`usage: healthcheck api|worker|agent (got "${app}")`);
  }
  const cfg = app === 'worker' ? readWorkerEnv(env) : readAgentEnv(env);
  // The app's own Redis user and password (REDIS_USERNAME, REDIS_PASSWORD or its _FILE).
  const redis = createRedisConnection({
    url: cfg.redisUrl,
    username: cfg.redisUsername,
    password: cfg.redisPassword,
  });
  redis.on('error', () => undefined); // reported through the command that fails
  try {
    return await (app === 'worker' ? checkWorker(env, redis) : checkAgent(env, redis));
  } finally {
    redis.disconnect();
  }
}

// Run only as the bundled entry point, not when a test imports the helpers above.
if (process.argv[1]?.endsWith('healthcheck.js')) {
  const timer = setTimeout(() => {
    process.stderr.write('healthcheck timed out\n');
    process.exit(1);
  }, CHECK_TIMEOUT_MS + 1000);
  runHealthcheck(process.argv[2] ?? '', process.env).then(
    (msg) => {
      process.stdout.write(`${msg}\n`);
      clearTimeout(timer);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`unhealthy: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
