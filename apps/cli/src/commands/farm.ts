/**
 * `rnx farm up | status | down`: the whole farm on one machine. `up` starts a supervisor in the
 * background and returns once the API answers; `down` stops exactly what `up` started (by pid),
 * keeping the data (store, caches, runtimes).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arch as nodeArch } from 'node:os';
import { Option } from 'commander';
import type { CommandDef } from '../command.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { table } from '../render/format.js';
import { DEFAULT_FARM_DIR, farmPaths, isAlive, readFarmState } from '../farm/farm-state.js';
import { supervise } from '../farm/supervisor.js';
import { port } from './parsers.js';

export interface FarmUpOptions {
  dir: string;
  port: number;
  redisUrl: string;
  storageUrl?: string;
  prefix: string;
  cacheDir?: string;
  runtimesDir?: string;
  nodeName?: string;
  timeoutS: number;
}

/** The host's architecture in Debian's naming. */
export function hostArch(): string {
  const a = nodeArch();
  return a === 'x64' ? 'amd64' : a === 'arm64' ? 'arm64' : a;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function farmUp(opts: FarmUpOptions, io: Io): Promise<number> {
  const existing = readFarmState(opts.dir);
  if (existing && isAlive(existing.supervisorPid)) {
    io.out(
      `Farm already running: API ${existing.apiUrl} (supervisor pid ${existing.supervisorPid})`,
    );
    return EXIT.OK;
  }
  const t0 = Date.now();
  const paths = farmPaths(opts.dir);
  mkdirSync(paths.logs, { recursive: true });
  const log = openSync(join(paths.logs, 'supervisor.log'), 'a');
  const rnx = fileURLToPath(new URL('../bin/rnx.js', import.meta.url));
  const args = [
    rnx,
    'farm',
    'supervise',
    '--dir',
    opts.dir,
    '--port',
    String(opts.port),
    '--redis-url',
    opts.redisUrl,
    '--prefix',
    opts.prefix,
    ...(opts.storageUrl ? ['--storage-url', opts.storageUrl] : []),
    ...(opts.cacheDir ? ['--cache-dir', opts.cacheDir] : []),
    ...(opts.runtimesDir ? ['--runtimes-dir', opts.runtimesDir] : []),
    ...(opts.nodeName ? ['--node-name', opts.nodeName] : []),
  ];
  const sup = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  sup.unref();
  const apiUrl = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + opts.timeoutS * 1000;
  while (Date.now() < deadline) {
    const state = readFarmState(opts.dir);
    if (state?.ready && state.supervisorPid === sup.pid && (await healthy(apiUrl))) {
      io.out(`${paint(io, 'green', '✓')} Farm is up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      io.out(`  API:      ${apiUrl}`);
      io.out(`  Store:    ${state.storageUrl}`);
      io.out(`  Logs:     ${paths.logs}/`);
      io.out(
        `  Stop it:  rnx farm down${opts.dir === DEFAULT_FARM_DIR ? '' : ` --dir ${opts.dir}`}`,
      );
      return EXIT.OK;
    }
    if (!isAlive(sup.pid)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (isAlive(sup.pid)) process.kill(sup.pid!, 'SIGTERM');
  throw new CliError(
    `the farm did not come up within ${opts.timeoutS} s; see ${paths.logs}/`,
    EXIT.FAILED,
  );
}

export async function farmDown(dir: string, io: Io): Promise<number> {
  const state = readFarmState(dir);
  if (!state || !isAlive(state.supervisorPid)) {
    io.out('Farm is not running.');
    return EXIT.OK;
  }
  process.kill(state.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 120_000;
  while (isAlive(state.supervisorPid) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  if (isAlive(state.supervisorPid)) {
    throw new CliError(`supervisor ${state.supervisorPid} did not stop within 120 s`, EXIT.FAILED);
  }
  const stopped = Object.entries(state.components).map(
    ([name, c]) => `${name}${c.pid ? ` (pid ${c.pid})` : ''}`,
  );
  io.out(`${paint(io, 'green', '✓')} Farm stopped: ${stopped.join(', ')}; data kept in ${dir}`);
  return EXIT.OK;
}

export async function farmStatus(dir: string, opts: { json?: boolean }, io: Io): Promise<number> {
  const state = readFarmState(dir);
  const running = Boolean(state && isAlive(state.supervisorPid));
  const apiOk = running && state ? await healthy(state.apiUrl) : false;
  if (opts.json) {
    io.out(JSON.stringify({ running, apiHealthy: apiOk, ...state }, null, 2));
    return running ? EXIT.OK : EXIT.FAILED;
  }
  if (!state || !running) {
    io.out('Farm is not running. Start it with: rnx farm up');
    return EXIT.FAILED;
  }
  io.out(`Farm running since ${state.startedAt} (supervisor pid ${state.supervisorPid})`);
  io.out(`  API ${state.apiUrl}: ${apiOk ? 'healthy' : 'not answering'}`);
  const rows = Object.entries(state.components).map(([name, c]) => [
    name,
    c.pid && isAlive(c.pid) ? `running (pid ${c.pid})` : 'stopped',
    String(c.restarts),
    c.log,
  ]);
  for (const l of table([['COMPONENT', 'STATE', 'RESTARTS', 'LOG'], ...rows])) io.out(`  ${l}`);
  return EXIT.OK;
}

/** `--dir`, defaulting to JOBLET_FARM_DIR. */
const dirOption = (defaultDir: string) =>
  new Option('--dir <path>', 'state directory').default(defaultDir);

export const commands: readonly CommandDef[] = [
  {
    path: 'farm up',
    define: (cmd, { env, io, state }) =>
      cmd
        .description(
          'start Redis (if none answers), the API, a worker and the local agent in the background',
        )
        .addOption(dirOption(env.JOBLET_FARM_DIR))
        .option('--port <port>', 'API port (127.0.0.1 only)', port, 7070)
        .option(
          '--redis-url <url>',
          'Redis to use, or to start when none answers',
          'redis://127.0.0.1:6379',
        )
        .option('--storage-url <url>', 'artifact store (default: a directory under --dir)')
        .option('--prefix <prefix>', 'queue and key prefix', 'joblet')
        .option(
          '--cache-dir <path>',
          'base roots and package caches (default /var/cache/joblet-farm)',
        )
        .option(
          '--runtimes-dir <path>',
          'where the local agent installs runtimes (default /opt/joblet/runtimes)',
        )
        .option('--node-name <name>', 'name of the local node (default: from the hostname)')
        .option('--timeout <s>', 'seconds to wait for the farm to answer', (v) => Number(v), 60)
        .action(async (o: Omit<FarmUpOptions, 'timeoutS'> & { timeout: number }) => {
          state.exitCode = await farmUp({ ...o, timeoutS: o.timeout }, io);
        }),
  },
  {
    path: 'farm down',
    define: (cmd, { env, io, state }) =>
      cmd
        .description('stop what `rnx farm up` started, keeping the data')
        .addOption(dirOption(env.JOBLET_FARM_DIR))
        .action(async (o: { dir: string }) => {
          state.exitCode = await farmDown(o.dir, io);
        }),
  },
  {
    path: 'farm status',
    define: (cmd, { env, io, state }) =>
      cmd
        .addOption(dirOption(env.JOBLET_FARM_DIR))
        .option('--json', 'print JSON')
        .action(async (o: { dir: string; json?: boolean }) => {
          state.exitCode = await farmStatus(o.dir, o, io);
        }),
  },
  {
    // What `farm up` runs in the background: the supervisor of the farm's processes.
    path: 'farm supervise',
    hidden: true,
    define: (cmd, { env }) =>
      cmd
        .addOption(dirOption(env.JOBLET_FARM_DIR))
        .requiredOption('--port <port>', 'API port', port)
        .requiredOption('--redis-url <url>', 'Redis URL')
        .requiredOption('--prefix <prefix>', 'queue prefix')
        .option('--storage-url <url>', 'artifact store')
        .option('--cache-dir <path>', 'cache dir')
        .option('--runtimes-dir <path>', 'runtimes dir')
        .option('--node-name <name>', 'node name')
        .action(
          async (o: {
            dir: string;
            port: number;
            redisUrl: string;
            prefix: string;
            storageUrl?: string;
            cacheDir?: string;
            runtimesDir?: string;
            nodeName?: string;
          }) => {
            await supervise({ ...o, arch: hostArch() });
          },
        ),
  },
];
