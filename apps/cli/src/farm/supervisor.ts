/**
 * `rnx farm supervise`: the one process `rnx farm up` leaves running. It starts Redis (only when
 * none answers; on 127.0.0.1 only, with a generated password: farm-redis.ts), the API (on
 * 127.0.0.1, `API_AUTH=token` unless `--auth none`: farm-credential.ts makes its admin token)
 * and per architecture of `--arch` (the host's by default) a worker and a node's agent as its
 * children — a foreign arch under QEMU (farm-arches.ts: the handler registered when missing,
 * removed again at the end) — restarts a child that dies (with backoff), and on SIGTERM stops
 * them in order: API first (no new work), then workers and agents (they drain), then the Redis
 * it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeNameFromHostname, type Arch } from '@joblet/spec';
import { foreignNodeDirs, registerForeignArches } from './farm-arches.js';
import { planFarmRedis } from './farm-redis.js';
import { farmSigningEnv } from './farm-signing-key.js';
import { farmPaths, writeFarmState, type FarmState } from './farm-state.js';

/** What the farm's API accepts: tokens (the default), or everyone as admin (asked for). */
export const FARM_AUTH_MODES = ['token', 'none'] as const;
export type FarmAuth = (typeof FARM_AUTH_MODES)[number];

export interface SupervisorOptions {
  dir: string;
  port: number;
  auth: FarmAuth;
  redisUrl: string;
  storageUrl?: string;
  prefix: string;
  /** The arches to build for and run jobs on, the host's first (parseFarmArches). */
  arches: Arch[];
  cacheDir?: string;
  /** Where the local node's agent installs runtimes (default /opt/joblet/runtimes). */
  runtimesDir?: string;
  /** Name of the local node (default: the agent's, from the hostname); a foreign arch's node is
   * `<name>-<arch>`. */
  nodeName?: string;
  /** Extra environment for every child (e.g. BUILD_PIP_INDEX_URL). */
  env?: NodeJS.ProcessEnv;
}

interface Child {
  name: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  proc?: ChildProcess;
  restarts: number;
  startedAt?: number;
  stopping?: boolean;
}

/**
 * The bundled entry point of another app of this monorepo: `apps/<app>/dist/index.js`, seen from
 * the bundled CLI (`apps/cli/dist/`) or from its source (`apps/cli/src/farm/`, in tests).
 */
export function appEntry(app: 'api' | 'worker' | 'agent'): string {
  const candidates = [`../../${app}/dist/index.js`, `../../../${app}/dist/index.js`].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

export async function supervise(opts: SupervisorOptions): Promise<void> {
  const paths = farmPaths(opts.dir);
  for (const d of [paths.logs, paths.store, paths.work, paths.redis])
    mkdirSync(d, { recursive: true });
  const storageUrl = opts.storageUrl ?? `file://${paths.store}`;
  // Children get the farm's settings plus the operator's BUILD_*/WORKER_*/AGENT_* tuning, and
  // nothing else of this process's environment.
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(([k]) =>
      /^(BUILD_|WORKER_|AGENT_|API_(?!HOST|PORT))|^(LOG_LEVEL|CATALOG_FILE|STORAGE_ACCESS_KEY|STORAGE_SECRET_KEY)$/.test(
        k,
      ),
    ),
  );
  // The farm's own signing key (made once in the state dir) unless the operator set theirs.
  const signing = farmSigningEnv(opts.dir, { ...passed, ...opts.env });
  // The Redis at --redis-url, or one of the farm's own: loopback only, with a generated password.
  const redis = await planFarmRedis(opts.dir, opts.redisUrl);
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    ...passed,
    ...opts.env,
    ...redis.env,
    REDIS_URL: opts.redisUrl,
    QUEUE_PREFIX: opts.prefix,
    STORAGE_URL: storageUrl,
  };
  const [host, ...foreign] = opts.arches;
  const node = opts.nodeName ?? nodeNameFromHostname(hostname());
  const children: Child[] = [];
  if (redis.server) children.push({ name: 'redis', ...redis.server, env: base, restarts: 0 });
  const child = (name: string, args: string[], env: NodeJS.ProcessEnv): Child => ({
    name,
    cmd: process.execPath,
    args,
    env: { ...base, ...env },
    restarts: 0,
  });
  children.push(
    child('api', [appEntry('api')], {
      API_HOST: '127.0.0.1',
      API_PORT: String(opts.port),
      API_AUTH: opts.auth,
      FARM_ARCHITECTURES: opts.arches.join(','),
    }),
  );
  for (const arch of opts.arches) {
    // The host's worker signs and publishes; the others build their arch only.
    const publishes = arch === host;
    children.push(
      child(`worker-${arch}`, [appEntry('worker')], {
        WORKER_ARCH: arch,
        WORKER_NAME: `${node}-${arch}`,
        WORKER_WORK_DIR: paths.work,
        WORKER_PUBLISH: String(publishes),
        ...(publishes ? signing.worker : {}),
        ...(opts.cacheDir ? { WORKER_CACHE_DIR: opts.cacheDir } : {}),
      }),
    );
  }
  // An idle agent stays small (under 80 MB RSS) with these; see apps/agent/README.md.
  const agentArgs = ['--lite-mode', '--max-semi-space-size=1', appEntry('agent')];
  const agentBase = { MALLOC_MMAP_THRESHOLD_: '65536', ...signing.agent };
  children.push(
    child('agent', agentArgs, {
      ...agentBase,
      AGENT_ARCH: host,
      AGENT_NAME: node,
      AGENT_WORK_DIR: join(opts.dir, 'jobs'),
      ...(opts.runtimesDir ? { RUNTIMES_DIR: opts.runtimesDir } : {}),
    }),
  );
  for (const arch of foreign) {
    const dirs = foreignNodeDirs(opts.dir, arch);
    children.push(
      child(`agent-${arch}`, agentArgs, {
        ...agentBase,
        AGENT_ARCH: arch,
        AGENT_NAME: `${node}-${arch}`,
        AGENT_WORK_DIR: dirs.jobs,
        RUNTIMES_DIR: dirs.runtimes,
        AGENT_VOLUMES_DIR: dirs.volumes,
      }),
    );
  }
  const releaseArches = await registerForeignArches(foreign);

  const state: FarmState = {
    supervisorPid: process.pid,
    apiUrl: `http://127.0.0.1:${opts.port}`,
    auth: opts.auth,
    redisUrl: opts.redisUrl,
    storageUrl,
    prefix: opts.prefix,
    arch: host!,
    arches: opts.arches,
    startedAt: new Date().toISOString(),
    ready: false,
    components: {},
  };
  const save = () => {
    for (const c of children) {
      state.components[c.name] = {
        // A child killed by a signal has no exit code either: it is gone when either is set.
        pid: c.proc?.exitCode === null && c.proc.signalCode === null ? c.proc.pid : undefined,
        log: join(paths.logs, `${c.name}.log`),
        restarts: c.restarts,
        startedAt: c.startedAt ? new Date(c.startedAt).toISOString() : undefined,
      };
    }
    writeFarmState(opts.dir, state);
  };

  let shuttingDown = false;
  const start = (c: Child) => {
    const log = openSync(join(paths.logs, `${c.name}.log`), 'a');
    c.startedAt = Date.now();
    c.proc = spawn(c.cmd, c.args, { env: c.env, stdio: ['ignore', log, log] });
    // A restarted child is recorded at once: `rnx farm status` and `farm down` see its new pid.
    if (state.ready) save();
    c.proc.on('exit', (code, signal) => {
      save();
      if (shuttingDown || c.stopping) return;
      // Restart with backoff; a child that ran for a minute starts again from a short delay.
      if (Date.now() - (c.startedAt ?? 0) > 60_000) c.restarts = 0;
      const delay = Math.min(30_000, 1000 * 2 ** c.restarts);
      c.restarts++;
      process.stderr.write(
        `${c.name} exited (code ${code}, signal ${signal}); restarting in ${delay} ms\n`,
      );
      setTimeout(() => !shuttingDown && start(c), delay).unref();
    });
  };

  for (const c of children) {
    start(c);
    if (c.name === 'redis') {
      for (let i = 0; i < 100 && !(await redis.ready()); i++) await sleep(100);
    }
  }
  state.ready = true;
  save();

  const stop = async (c: Child, timeoutMs: number) => {
    const p = c.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    c.stopping = true;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      if (shuttingDown) return;
      shuttingDown = true;
      void (async () => {
        // API first (no new submissions), then workers/agents (they drain), Redis last.
        for (const name of ['api'])
          for (const c of children.filter((x) => x.name === name)) await stop(c, 10_000);
        for (const c of children.filter((x) => x.name !== 'api' && x.name !== 'redis'))
          await stop(c, 90_000);
        for (const c of children.filter((x) => x.name === 'redis')) await stop(c, 10_000);
        await releaseArches().catch((err: unknown) =>
          process.stderr.write(`could not remove a QEMU handler: ${String(err)}\n`),
        );
        state.ready = false;
        save();
        resolve();
      })();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
