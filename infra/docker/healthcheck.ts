/**
 * Container health check for the farm's apps: `node dist/healthcheck.js api|worker|agent
 * [live|ready]`. Exit 0 = healthy, 1 = not. Bundled next to each app's `dist/index.js` by
 * `build-app.sh`, and run by Docker's HEALTHCHECK / compose `healthcheck` / a Kubernetes exec
 * probe.
 *
 * It reads the same configuration as the app (the app's own `env.ts`) and asks the app itself:
 * - `live` (the default), liveness: the process answers — the API's `/healthz`, the worker's and
 *   the agent's `/livez` on WORKER_/AGENT_HEALTH_PORT. Never Redis: a Redis failover must not get
 *   every container restarted and the builds and jobs in them killed;
 * - `ready`, readiness: the app's `/readyz` (Redis and the store, as the app sees them).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

/** GET `path` of a server of this container; resolves on 200. */
function probe(
  what: string,
  o: { host: string; port: number; path: string; tls: boolean },
): Promise<string> {
  const request = o.tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: probeHost(o.host),
        port: o.port,
        path: o.path,
        timeout: CHECK_TIMEOUT_MS,
        // We probe our own process over loopback; its certificate names the public host.
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        if (res.statusCode === 200) resolve(`${what}: ${o.path} 200`);
        else reject(new Error(`${what}: ${o.path} answered ${res.statusCode}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${what}: ${o.path} timed out`)));
    req.on('error', (err) => {
      if (o.tls && isClientCertDemand(err))
        resolve(`${what}: TLS up (client certificate required)`);
      else reject(err);
    });
    req.end();
  });
}

export type ProbeKind = 'live' | 'ready';

function probeApi(env: NodeJS.ProcessEnv, kind: ProbeKind): Promise<string> {
  const cfg = readApiEnv(env);
  const path = kind === 'live' ? '/healthz' : '/readyz';
  return probe('api', {
    host: cfg.API_HOST,
    port: cfg.API_PORT,
    path,
    tls: Boolean(cfg.API_TLS_CERT),
  });
}

function probeNode(app: 'worker' | 'agent', env: NodeJS.ProcessEnv, kind: ProbeKind) {
  const health = (app === 'worker' ? readWorkerEnv(env) : readAgentEnv(env)).health;
  const variable = `${app.toUpperCase()}_HEALTH_PORT`;
  if (!health) throw new Error(`${app}: ${variable} is not set, so the ${app} serves no probes`);
  const path = kind === 'live' ? '/livez' : '/readyz';
  return probe(app, { host: health.host, port: health.port, path, tls: false });
}

/** Runs the check for `app` (`live` unless `kind` says `ready`); rejects when unhealthy. */
export async function runHealthcheck(
  app: string,
  env: NodeJS.ProcessEnv,
  kind = 'live',
): Promise<string> {
  if (kind !== 'live' && kind !== 'ready') {
    throw new Error(`usage: healthcheck api|worker|agent [live|ready] (got "${kind}")`);
  }
  if (app === 'api') return probeApi(env, kind);
  if (app === 'worker' || app === 'agent') return probeNode(app, env, kind);
  throw new Error(`usage: healthcheck api|worker|agent [live|ready] (got "${app}")`);
}

// Run only as the bundled entry point, not when a test imports the helpers above.
if (process.argv[1]?.endsWith('healthcheck.js')) {
  const timer = setTimeout(() => {
    process.stderr.write('healthcheck timed out\n');
    process.exit(1);
  }, CHECK_TIMEOUT_MS + 1000);
  runHealthcheck(process.argv[2] ?? '', process.env, process.argv[3]).then(
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
