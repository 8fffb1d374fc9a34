/**
 * A farm of both architectures on this amd64 host, for the arm64 end-to-end test: the bundled
 * API (FARM_ARCHITECTURES=amd64,arm64), an amd64 worker (publishes) and an arm64 worker (builds
 * under QEMU), an amd64 agent and an arm64 agent (AGENT_ARCH=arm64, jobs under QEMU), each a real
 * process of `apps/<app>/dist`, on real Redis under a queue prefix of its own and a directory
 * store. The QEMU binfmt_misc handler is registered by the caller (as an operator would), not by
 * the daemons. Driven through the real `rnx` binary.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { Arch } from '@joblet/spec';
import { freePort, makeTempDir, uniqueName, writeTestKeyPair, type TempDir } from '@joblet/testkit';
import { RNX, type RnxResult } from './farm-fixture.js';

const exec = promisify(execFile);

const entry = (app: 'api' | 'worker' | 'agent') =>
  fileURLToPath(new URL(`../../apps/${app}/dist/index.js`, import.meta.url));

export interface MultiArchFarm {
  url: string;
  prefix: string;
  tmp: TempDir;
  /** Node name per arch. */
  nodes: Record<Arch, string>;
  /** RUNTIMES_DIR of the node of each arch. */
  runtimesDirs: Record<Arch, string>;
  rnx(args: string[], opts?: { timeoutMs?: number }): Promise<RnxResult>;
  /** Stops one component (SIGTERM, then SIGKILL after 60 s), e.g. `agent-amd64`. */
  stop(component: string): Promise<void>;
  /** The log of a component (`api`, `worker-arm64`, `agent-arm64`, ...). */
  log(component: string): Promise<string>;
  down(): Promise<void>;
}

interface Component {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

export async function startMultiArchFarm(): Promise<MultiArchFarm> {
  const tmp = await makeTempDir('e2e-arm64-');
  // Sandboxes run as nobody: runtimes and job dirs must be reachable (as /opt/joblet/runtimes is).
  await chmod(tmp.path, 0o755);
  const prefix = uniqueName('e2e-arm64');
  const suffix = prefix.slice(-6).replace(/[^a-z0-9]/g, '0');
  const nodes: Record<Arch, string> = { amd64: `amd-${suffix}`, arm64: `arm-${suffix}` };
  const runtimesDirs: Record<Arch, string> = {
    amd64: join(tmp.path, 'runtimes-amd64'),
    arm64: join(tmp.path, 'runtimes-arm64'),
  };
  const logs = join(tmp.path, 'logs');
  await mkdir(logs, { recursive: true });
  const keys = writeTestKeyPair(join(tmp.path, 'keys'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const common: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tmp.path,
    LANG: 'C.UTF-8',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    STORAGE_URL: `file://${join(tmp.path, 'store')}`,
    LOG_LEVEL: 'info',
  };
  const worker = (arch: Arch, publish: boolean): NodeJS.ProcessEnv => ({
    WORKER_ARCH: arch,
    WORKER_NAME: `e2e-worker-${arch}`,
    WORKER_PUBLISH: String(publish),
    WORKER_WORK_DIR: join(tmp.path, 'work'),
    ...(publish && { WORKER_SIGNING_KEY_FILE: keys.privateKeyFile }),
  });
  const agent = (arch: Arch): NodeJS.ProcessEnv => ({
    AGENT_ARCH: arch,
    AGENT_NAME: nodes[arch],
    AGENT_CAPACITY: '2',
    AGENT_HEARTBEAT_S: '1',
    AGENT_MIN_FREE_MB: '0',
    RUNTIMES_DIR: runtimesDirs[arch],
    AGENT_WORK_DIR: join(tmp.path, `jobs-${arch}`),
    AGENT_VOLUMES_DIR: join(tmp.path, `volumes-${arch}`),
    AGENT_TRUSTED_KEYS: keys.publicKeyFile,
  });
  const specs: [string, string, NodeJS.ProcessEnv][] = [
    // Not about authentication: the local admin, asked for explicitly (the default is token).
    [
      'api',
      entry('api'),
      { API_PORT: String(port), FARM_ARCHITECTURES: 'amd64,arm64', API_AUTH: 'none' },
    ],
    ['worker-amd64', entry('worker'), worker('amd64', true)],
    ['worker-arm64', entry('worker'), worker('arm64', false)],
    ['agent-amd64', entry('agent'), agent('amd64')],
    ['agent-arm64', entry('agent'), agent('arm64')],
  ];
  const components = new Map<string, Component>();
  for (const [name, script, env] of specs) {
    const out = createWriteStream(join(logs, `${name}.log`));
    await new Promise((r) => out.once('open', r));
    const proc = spawn(process.execPath, [script], {
      env: { ...common, API_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', out, out],
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    components.set(name, { name, proc, exited });
  }

  const log = (name: string) => readFile(join(logs, `${name}.log`), 'utf8').catch(() => '');
  const rnx = async (args: string[], opts: { timeoutMs?: number } = {}): Promise<RnxResult> => {
    try {
      const { stdout, stderr } = await exec(process.execPath, [RNX, ...args], {
        env: { PATH: process.env.PATH, HOME: tmp.path, NO_COLOR: '1', RNX_SERVER: url },
        timeout: opts.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: unknown; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? String(err),
      };
    }
  };
  const stop = async (name: string) => {
    const c = components.get(name);
    if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
    c.proc.kill('SIGTERM');
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), 60_000);
    await c.exited;
    clearTimeout(timer);
  };
  const farm: MultiArchFarm = {
    url,
    prefix,
    tmp,
    nodes,
    runtimesDirs,
    rnx,
    stop,
    log,
    async down() {
      // API first (no new work), then the daemons (they drain).
      await stop('api');
      await Promise.all([...components.keys()].map(stop));
      await deletePrefix(common.REDIS_URL!, prefix);
      // E2E_KEEP=1 keeps the state dir (logs) for a look after a failure.
      if (process.env.E2E_KEEP === '1') process.stderr.write(`e2e farm kept in ${tmp.path}\n`);
      else await tmp.cleanup();
    },
  };
  try {
    await waitReady(farm, components);
  } catch (err) {
    await farm.down();
    throw err;
  }
  return farm;
}

/** Until both nodes are online and both pools have a live worker; a component dying fails it. */
async function waitReady(farm: MultiArchFarm, components: Map<string, Component>): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    for (const c of components.values()) {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) {
        throw new Error(
          `${c.name} exited (${c.proc.exitCode ?? c.proc.signalCode}) while the farm started:\n` +
            (await farm.log(c.name)).slice(-4000),
        );
      }
    }
    const [nodes, pools] = await Promise.all([
      getJson<{ nodes: { name: string; arch: string; online: boolean }[] }>(`${farm.url}/v1/nodes`),
      getJson<{ pools: { arch: string; workers: number }[] }>(`${farm.url}/v1/pools`),
    ]);
    const online = (arch: Arch) =>
      nodes?.nodes.some((n) => n.name === farm.nodes[arch] && n.arch === arch && n.online);
    const pool = (arch: Arch) => pools?.pools.some((p) => p.arch === arch && p.workers > 0);
    if (online('amd64') && online('arm64') && pool('amd64') && pool('arm64')) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the farm did not come up in 120 s: nodes ${JSON.stringify(nodes)}, pools ${JSON.stringify(pools)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url);
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the farm's Redis keys (SCAN, never KEYS). */
async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
