/**
 * Agent runtime sync, with the built agent (`apps/agent/dist/index.js`) as three real processes
 * ("nodes") on this machine, a directory store and local Redis:
 * - publish → installed on all three nodes, for a runtime of about 200 MB uncompressed (the
 *   cached Debian bookworm root + Python's standard library + ICU data): from appending
 *   `runtime.published` (index and artifact already in the store, as the publisher leaves them)
 *   until all three report `installed`. Target < 3 s. Median of a few runs, each a new version.
 * - download throughput (store → agent, archive bytes/s, dir store and S3 via s3rver) and extract
 *   throughput (safeExtract from a local file: zstd + tar + member checks + tree hash, unpacked
 *   bytes/s), measured separately.
 * - an idle agent's CPU% and RSS over ~10 s (targets < 1% CPU, < 80 MB RSS), from /proc.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { appendEvent } from '@joblet/queue';
import { safeExtract } from '@joblet/artifact';
import { MOUNT_DIRS, serializeRuntimeYml } from '@joblet/spec';
import { createArtifactStore, runtimeArchiveKey, type ArtifactStore } from '@joblet/storage';
import { startS3Server } from '@joblet/testkit';
import {
  DEBIAN_ROOT,
  REDIS_URL,
  makeDebianTree,
  makeWorld,
  pack,
  publish,
  runtimeYmlFor,
  unpublish,
  waitFor,
  x,
  type Packed,
  type World,
} from '@joblet/agent/testing';
import { round } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const agentDir = join(here, '../apps/agent');
const RUNS = 3;
const NODES = ['bench-a', 'bench-b', 'bench-c'];
const MB = 1e6;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};

/** ~200 MB: the Debian root (with python3), Python's stdlib, and ICU's data library. */
function makeBigTree(dir: string, name: string, version: string): string {
  makeDebianTree(dir, { name, version });
  x('cp', ['-a', '/usr/lib/python3.11', join(dir, 'isolated/usr/lib/python3.11')]);
  const icu = '/usr/lib/x86_64-linux-gnu/libicudata.so.72.1';
  if (existsSync(icu)) x('cp', [icu, join(dir, 'isolated/usr/lib/x86_64-linux-gnu/')]);
  return dir;
}

/** The same tree as another version: only runtime.yml changes. */
async function packVersion(tree: string, art: string, name: string, version: string) {
  const present = MOUNT_DIRS.filter((d) => existsSync(join(tree, 'isolated', d)));
  const yml = runtimeYmlFor({ name, version }, present);
  writeFileSync(join(tree, 'runtime.yml'), serializeRuntimeYml(yml));
  return pack(tree, join(art, `${name}-${version}.tar.zst`), yml);
}

interface AgentProc {
  child: ChildProcess;
  lines: string[];
}

/** How the agent is meant to be run (apps/agent `npm start`): see NODE_FLAGS in its README. */
const NODE_FLAGS = (process.env.BENCH_AGENT_NODE_FLAGS ?? '--lite-mode --max-semi-space-size=1')
  .split(' ')
  .filter(Boolean);

function startAgent(w: World, node: string, runtimesRoot: string): AgentProc {
  const cfg = w.config(node);
  const child = spawn(process.execPath, [...NODE_FLAGS, join(agentDir, 'dist/index.js')], {
    env: {
      PATH: process.env.PATH,
      // As `npm start` in apps/agent: small mmap threshold so freed buffers go back to the OS.
      MALLOC_MMAP_THRESHOLD_: '65536',
      AGENT_NAME: node,
      AGENT_ARCH: 'amd64',
      REDIS_URL,
      QUEUE_PREFIX: w.prefix,
      STORAGE_URL: w.storeUrl,
      RUNTIMES_DIR: join(runtimesRoot, `${node}-runtimes`),
      AGENT_WORK_DIR: cfg.workDir,
      AGENT_MIN_FREE_MB: '0',
      AGENT_TRUSTED_KEYS: w.trustedKeyFile,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  return { child, lines };
}

async function stopAgents(agents: AgentProc[]): Promise<void> {
  for (const a of agents) a.child.kill('SIGTERM');
  await Promise.all(
    agents.map(
      (a) =>
        new Promise((r) => {
          if (a.child.exitCode !== null || a.child.signalCode !== null) r(undefined);
          else a.child.once('exit', r);
        }),
    ),
  );
}

async function allInstalled(w: World, nodes: string[], version: string): Promise<boolean> {
  const states = await Promise.all(
    nodes.map((n) => w.redis.hget(w.keys.nodeRuntimes(n), `bench-py@${version}`)),
  );
  return states.every(
    (s) => s !== null && (JSON.parse(s) as { state: string }).state === 'installed',
  );
}

/** Install figures each agent logged for `version` ("runtime installed" lines). */
function installLogs(agents: AgentProc[], version: string) {
  return agents.flatMap((a) =>
    a.lines
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      })
      .filter((l) => l.msg === 'runtime installed' && l.runtime === `bench-py@${version}`),
  ) as { extractMs: number; totalMs: number; archiveBytes: number; unpackedBytes: number }[];
}

async function drain(store: ArtifactStore, key: string): Promise<number> {
  const t = performance.now();
  await pipeline(
    await store.get(key),
    new Writable({
      write: (_c, _e, cb) => cb(),
    }),
  );
  return performance.now() - t;
}

function procStat(pid: number): { ticks: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { ticks, rssKb: Number(rss?.[1] ?? NaN) };
}

interface Scenario {
  e2e: number[];
  perNode: { extractMs: number; totalMs: number }[];
  packed: Packed;
}

/**
 * Three agents with their RUNTIMES_DIR under `runtimesRoot`; RUNS publishes of new versions of
 * the tree, each timed from the event to `installed` on all three. `idle` runs before the agents
 * stop (they are then idle, everything installed).
 */
async function scenario(
  w: World,
  tree: string,
  art: string,
  label: string,
  runtimesRoot: string,
  idle?: (agents: AgentProc[]) => Promise<void>,
): Promise<Scenario> {
  const nodes = NODES.map((n) => `${n}-${label}`);
  const agents = nodes.map((n) => startAgent(w, n, runtimesRoot));
  try {
    await waitFor(
      async () =>
        (await Promise.all(nodes.map((n) => w.redis.sismember(w.keys.nodes, n)))).every(Boolean),
      'three agents registered',
    );
    await new Promise((r) => setTimeout(r, 500)); // their start-up reconcile is over
    const e2e: number[] = [];
    let packed: Packed | undefined;
    let previous: string | undefined;
    for (let i = 0; i < RUNS; i++) {
      const version = `${i + 1}.0.0-${label}`;
      packed = await packVersion(tree, art, 'bench-py', version);
      // Everything the publisher does before announcing it, untimed.
      await publish(w.store, w.redis, w.keys, packed, { name: 'bench-py', version, event: false });
      x('sync', []); // start with no dirty pages from the previous run
      const t0 = performance.now();
      await appendEvent(w.redis, w.keys.farmEvents, {
        type: 'runtime.published',
        name: 'bench-py',
        version,
        arches: ['amd64'],
      });
      await waitFor(() => allInstalled(w, nodes, version), `${version} on all nodes`, 120_000);
      e2e.push(performance.now() - t0);
      if (previous !== undefined) await unpublish(w.store, w.redis, w.keys, 'bench-py', previous);
      previous = version;
    }
    const perNode = installLogs(agents, previous!).map((n) => ({
      extractMs: n.extractMs,
      totalMs: n.totalMs,
    }));
    await new Promise((r) => setTimeout(r, 1500)); // the previous version's removal is over
    if (idle) await idle(agents);
    return { e2e, perNode, packed: packed! };
  } finally {
    await stopAgents(agents);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  if (!existsSync(DEBIAN_ROOT)) return { skipped: `${DEBIAN_ROOT} is missing` };
  execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: agentDir });
  const w = await makeWorld();
  const shm = mkdtempSync('/dev/shm/agent-bench-');
  try {
    const art = w.dir('art');
    const tree = makeBigTree(join(art, 'tree'), 'bench-py', '1.0.0');

    let idle = { cpuPercent: NaN, rssMB: NaN, seconds: 10 };
    const measureIdle = async (agents: AgentProc[]): Promise<void> => {
      const pid = agents[0]!.child.pid!;
      const clk = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
      const before = procStat(pid);
      await new Promise((r) => setTimeout(r, idle.seconds * 1000));
      const after = procStat(pid);
      idle = {
        seconds: idle.seconds,
        cpuPercent: round(((after.ticks - before.ticks) / clk / idle.seconds) * 100),
        rssMB: round((after.rssKb * 1024) / MB),
      };
    };
    const disk = await scenario(w, tree, art, 'disk', w.dir('runtimes'), measureIdle);
    const tmpfs = await scenario(w, tree, art, 'tmpfs', shm);
    const packed = tmpfs.packed;

    // Download alone: archive bytes from the store into nothing (dir store, then S3).
    const key = runtimeArchiveKey('bench-py', `${RUNS}.0.0-tmpfs`, 'amd64');
    const dirMs = [await drain(w.store, key), await drain(w.store, key), await drain(w.store, key)];
    const s3 = await startS3Server();
    let s3Ms: number[] = [];
    try {
      await s3.createBucket('bench');
      const s3Store = createArtifactStore(s3.url('bench'));
      await s3Store.put(key, await w.store.get(key));
      s3Ms = [await drain(s3Store, key), await drain(s3Store, key), await drain(s3Store, key)];
      await s3Store.close();
    } finally {
      await s3.close();
    }

    // Extraction alone, from a local file, as the installer runs it (and without the tree hash).
    const extract = async (root: string, hash: boolean): Promise<number> => {
      const dest = join(root, `x-${Math.random().toString(16).slice(2)}`);
      x('sync', []);
      const t = performance.now();
      await safeExtract(packed.file, dest, {
        expectedSha256: packed.sha256,
        symlinks: 'rooted',
        ...(hash && { treeHash: true, expectedTreeHash: packed.treeHash }),
      });
      const ms = performance.now() - t;
      await rm(dest, { recursive: true, force: true });
      return ms;
    };
    const extractFigures = async (root: string) => {
      const withHash = [
        await extract(root, true),
        await extract(root, true),
        await extract(root, true),
      ];
      const noHash = [
        await extract(root, false),
        await extract(root, false),
        await extract(root, false),
      ];
      return {
        withTreeHashMBps: round(packed.treeBytes / MB / (median(withHash) / 1000)),
        withoutTreeHashMBps: round(packed.treeBytes / MB / (median(noHash) / 1000)),
        medianMs: { withTreeHash: round(median(withHash)), withoutTreeHash: round(median(noHash)) },
      };
    };
    const tarOnly = (root: string): number => {
      const dest = join(root, 'plain');
      x('mkdir', ['-p', dest]);
      x('sync', []);
      const t = performance.now();
      execFileSync('sh', ['-c', `zstd -dc '${packed.file}' | tar -x -C '${dest}'`]);
      const ms = performance.now() - t;
      x('rm', ['-rf', dest]);
      return ms;
    };

    const e2e = (s: Scenario) => ({
      median: round(median(s.e2e)),
      runs: s.e2e.map(round),
      perNodeLastRun: s.perNode,
    });
    return {
      targets: { publishToInstalledMs: 3000, idleCpuPercent: 1, idleRssMB: 80 },
      agentNodeFlags: NODE_FLAGS.join(' '),
      runtime: {
        treeMB: round(packed.treeBytes / MB),
        archiveMB: round(packed.size / MB),
        nodes: NODES.length,
        runs: RUNS,
      },
      publishToInstalledOnAllNodesMs: {
        diskExt4: e2e(disk),
        tmpfs: e2e(tmpfs),
        note: 'from runtime.published to installed on all three; RUNTIMES_DIR on the ext4 root disk or on /dev/shm',
      },
      downloadMBps: {
        dirStore: round(packed.size / MB / (median(dirMs) / 1000)),
        s3rver: round(packed.size / MB / (median(s3Ms) / 1000)),
        note: 'archive (compressed) bytes per second, store → process, nothing else',
      },
      extractMBps: {
        diskExt4: await extractFigures(w.dir('extract')),
        tmpfs: await extractFigures(shm),
        plainZstdTarMs: { diskExt4: round(tarOnly(w.dir('extract'))), tmpfs: round(tarOnly(shm)) },
        note: 'unpacked bytes per second of safeExtract from a local file: zstd + tar + listing and tree checks (+ tree hash); plainZstdTarMs is `zstd -dc | tar -x` alone, for scale',
      },
      idleAgent: idle,
    };
  } finally {
    await rm(shm, { recursive: true, force: true });
    await w.cleanup();
  }
}
