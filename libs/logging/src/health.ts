/**
 * Probes for a process without an API of its own (the worker, the agent), and the gate that makes
 * it take work only while it is ready:
 * - `GET /livez`, liveness: answered by the process's own event loop and nothing else, so a Redis
 *   or store outage never gets the process restarted (and its builds or jobs killed with it);
 * - `GET /readyz`, readiness: every check (Redis, the store) answers within its timeout; 503
 *   naming what is down. Answers are cached for a second: a flood of probes costs one round.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface CheckResult {
  ok: boolean;
  ms: number;
  /** A short code or message, never a URL or a credential. */
  error?: string;
}

export interface Readiness {
  status: 'ready' | 'unavailable';
  down: string[];
  checks: Record<string, CheckResult>;
}

/** A dependency check: resolves when the dependency answers. */
export type ReadyCheck = () => Promise<unknown>;

async function timed(check: ReadyCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    const e = err as { code?: unknown; message?: string };
    const error = typeof e.code === 'string' ? e.code : (e.message ?? 'failed').slice(0, 80);
    return { ok: false, ms: Math.round(performance.now() - started), error };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the named checks together, each bounded by `timeoutMs`; cached for `cacheMs`. */
export function readinessOf(
  checks: Record<string, ReadyCheck>,
  opts: { timeoutMs?: number; cacheMs?: number } = {},
): () => Promise<Readiness> {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const cacheMs = opts.cacheMs ?? 1_000;
  let last: { at: number; value: Promise<Readiness> } | undefined;
  const run = async (): Promise<Readiness> => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((n) => timed(checks[n]!, timeoutMs)));
    const byName = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
    const down = names.filter((n) => !byName[n]!.ok);
    return { status: down.length ? 'unavailable' : 'ready', down, checks: byName };
  };
  return () => {
    const now = Date.now();
    if (!last || now - last.at > cacheMs) last = { at: now, value: run() };
    return last.value;
  };
}

export interface HealthServer {
  /** The port it listens on (the one asked for, or the one given for port 0). */
  port: number;
  close(): Promise<void>;
}

/** Serves `/livez` and `/readyz` on `host:port` (plain HTTP: they say nothing secret). */
export async function startHealthServer(opts: {
  host: string;
  port: number;
  ready: () => Promise<Readiness>;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') reply(405, { error: 'GET only' });
    else if (path === '/livez') reply(200, { status: 'ok' });
    else if (path === '/readyz') {
      opts.ready().then(
        (r) => reply(r.status === 'ready' ? 200 : 503, r),
        () => reply(503, { status: 'unavailable', down: ['check'], checks: {} }),
      );
    } else reply(404, { error: 'not found: /livez and /readyz are served here' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Takes work only while ready: checks every `intervalMs`, calls `pause()` when a check fails
 * (work in progress goes on) and `resume()` when all pass again. Returns its stop function.
 */
export function gateWork(opts: {
  ready: () => Promise<Readiness>;
  pause: () => Promise<void> | void;
  resume: () => Promise<void> | void;
  log: Logger;
  intervalMs?: number;
}): () => void {
  let paused = false;
  let busy = false;
  let stopped = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const r = await opts.ready();
      // Stopped meanwhile (the process is shutting down): its own order decides now.
      if (stopped) return;
      if (r.status !== 'ready' && !paused) {
        paused = true;
        opts.log.warn({ down: r.down, checks: r.checks }, 'not ready: taking no new work');
        await opts.pause();
      } else if (r.status === 'ready' && paused) {
        paused = false;
        opts.log.info('ready again: taking work');
        await opts.resume();
      }
    } catch (err) {
      opts.log.warn({ err }, 'readiness gate failed');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 5_000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
