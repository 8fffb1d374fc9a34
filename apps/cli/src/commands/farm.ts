/**
 * `rnx farm up | status | down`: the whole farm on one machine. `up` starts a supervisor in the
 * background and returns once the API answers, with an admin token in the caller's rnx config
 * (0600; see farm/farm-credential.ts) unless `--auth none`; `down` stops exactly what `up`
 * started (by pid), keeping the data (store, caches, runtimes) and the token, which only its
 * owner can read.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arch as nodeArch } from 'node:os';
import { Option } from 'commander';
import type { Arch } from '@joblet/spec';
import type { CommandDef } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { table } from '../render/format.js';
import { DEFAULT_FARM_DIR, farmPaths, isAlive, readFarmState } from '../farm/farm-state.js';
import { ensureFarmToken } from '../farm/farm-credential.js';
import { checkFarmDirTraversable } from '../farm/farm-dir-check.js';
import { parseFarmArches, planForeignArch } from '../farm/farm-arches.js';
import { FARM_AUTH_MODES, appEntry, supervise, type FarmAuth } from '../farm/supervisor.js';
import { port } from './parsers.js';

export interface FarmUpOptions {
  dir: string;
  port: number;
  /** `token` (default) or `none` (every local user and process is admin: asked for only). */
  auth: string;
  /** The rnx config file the admin token goes to. */
  configPath: string;
  redisUrl: string;
  storageUrl?: string;
  prefix: string;
  cacheDir?: string;
  runtimesDir?: string;
  nodeName?: string;
  /** `--arch`: comma-separated, default the host's. */
  arch?: string;
  timeoutS: number;
}

/** The host's architecture in Debian's naming. */
export function hostArch(): Arch {
  const a = nodeArch();
  if (a === 'x64') return 'amd64';
  if (a === 'arm64') return 'arm64';
  throw new CliError(`this host's architecture ${a} is not one the farm builds for`, EXIT.FAILED);
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

function farmAuth(mode: string): FarmAuth {
  if ((FARM_AUTH_MODES as readonly string[]).includes(mode)) return mode as FarmAuth;
  throw new UsageError(
    `--auth (or API_AUTH) "${mode}": the farm's API serves plain HTTP on 127.0.0.1 and takes ` +
      `${FARM_AUTH_MODES.join(' or ')}; for mTLS run the apps yourself (see infra/)`,
  );
}

/** The token for the farm's API, or the warning that there is none; prints what it did. */
async function credentials(
  opts: FarmUpOptions,
  auth: FarmAuth,
  farm: { apiUrl: string; redisUrl: string; prefix: string },
  io: Io,
): Promise<void> {
  if (auth === 'none') {
    io.err(
      `${paint(io, 'yellow', '!')} API_AUTH=none: every user and process on this machine is ` +
        `the farm's admin. Drop --auth none (and API_AUTH) to require a token.`,
    );
    return;
  }
  const saved = await ensureFarmToken({ ...farm, configPath: opts.configPath, dir: opts.dir });
  io.out(
    `  Auth:     token; ${saved.reused ? 'your admin token' : 'a new admin token'} is in ` +
      `${opts.configPath} ("${saved.name}", readable by you only)`,
  );
  if (saved.otherCurrent) {
    io.out(
      `            rnx uses "${saved.otherCurrent}" by default; for this farm: RNX_CONTEXT=${saved.name}`,
    );
  }
  io.out(
    `  UI:       ${farm.apiUrl}/ui (sign in with a token: rnx token create --role reader --ttl 1d)`,
  );
}

export async function farmUp(opts: FarmUpOptions, io: Io): Promise<number> {
  const auth = farmAuth(opts.auth);
  const existing = readFarmState(opts.dir);
  if (existing && isAlive(existing.supervisorPid)) {
    io.out(
      `Farm already running: API ${existing.apiUrl} (supervisor pid ${existing.supervisorPid})`,
    );
    const running = existing.auth ?? 'none';
    if (running !== auth)
      io.err(`the running farm has API_AUTH=${running}; to change it: rnx farm down, then up`);
    const arches = (existing.arches ?? [existing.arch]).join(',');
    if (opts.arch && parseFarmArches(opts.arch, hostArch()).join(',') !== arches)
      io.err(`the running farm has --arch ${arches}; to change it: rnx farm down, then up`);
    await credentials(opts, running, existing, io);
    return EXIT.OK;
  }
  checkFarmDirTraversable(opts.dir);
  // The npm package of rnx holds the CLI only; the farm's apps are built in its repository.
  const missing = (['api', 'worker', 'agent'] as const).map(appEntry).filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new CliError(
      `rnx farm up runs the farm's API, worker and agent from its repository, and ${missing.join(', ')} ` +
        'is missing: this rnx is the installed package (the CLI only). Clone the repository, ' +
        'run npm ci && npm run build there, and use its apps/cli/bin/rnx.js for farm up',
    );
  const arches = parseFarmArches(opts.arch ?? hostArch(), hostArch());
  // Refused here, before anything starts, when a foreign arch cannot run (farm-arches.ts).
  for (const a of arches.slice(1)) planForeignArch(a);
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
    '--auth',
    auth,
    '--redis-url',
    opts.redisUrl,
    '--prefix',
    opts.prefix,
    '--arch',
    arches.join(','),
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
      io.out(`  Arches:   ${arches.map((a, i) => (i === 0 ? a : `${a} (QEMU)`)).join(', ')}`);
      io.out(`  Store:    ${state.storageUrl}`);
      io.out(`  Logs:     ${paths.logs}/`);
      io.out(
        `  Stop it:  rnx farm down${opts.dir === DEFAULT_FARM_DIR ? '' : ` --dir ${opts.dir}`}`,
      );
      await credentials(opts, auth, state, io);
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
        .addOption(
          new Option(
            '--auth <mode>',
            'token: an admin token in your rnx config (0600); none: every local user is admin',
          ).default(env.API_AUTH ?? 'token'),
        )
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
        .option(
          '--arch <list>',
          "architectures to build for and run jobs on, e.g. amd64,arm64 (default: the host's; " +
            'a foreign one under QEMU, a worker and a node <node-name>-<arch> each)',
        )
        .option('--timeout <s>', 'seconds to wait for the farm to answer', (v) => Number(v), 60)
        .action(async (o: Omit<FarmUpOptions, 'timeoutS' | 'configPath'> & { timeout: number }) => {
          const up = { ...o, timeoutS: o.timeout, configPath: env.configPath };
          state.exitCode = await farmUp(up, io);
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
        .addOption(
          new Option('--auth <mode>', 'API_AUTH').choices(FARM_AUTH_MODES).default('token'),
        )
        .requiredOption('--redis-url <url>', 'Redis URL')
        .requiredOption('--prefix <prefix>', 'queue prefix')
        .option('--storage-url <url>', 'artifact store')
        .option('--cache-dir <path>', 'cache dir')
        .option('--runtimes-dir <path>', 'runtimes dir')
        .option('--node-name <name>', 'node name')
        .option('--arch <list>', "architectures, the host's first")
        .action(
          async (o: {
            dir: string;
            port: number;
            auth: FarmAuth;
            redisUrl: string;
            prefix: string;
            storageUrl?: string;
            cacheDir?: string;
            runtimesDir?: string;
            nodeName?: string;
            arch?: string;
          }) => {
            await supervise({ ...o, arches: parseFarmArches(o.arch ?? hostArch(), hostArch()) });
          },
        ),
  },
];
