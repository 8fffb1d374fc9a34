/** Wiring of `rnx farm up|down|status|supervise`. */
import { Option, type Command } from 'commander';
import type { CliEnv } from '../env.js';
import { supervise } from '../farm/supervisor.js';
import type { Io } from '../io.js';
import type { RunState } from '../program.js';
import { farmDown, farmStatus, farmUp, hostArch } from './farm.js';
import { port } from './parsers.js';

export function registerFarmCommands(program: Command, env: CliEnv, io: Io, state: RunState): void {
  const farm = program.command('farm').description('run the whole farm on this machine');
  const dirOption = () =>
    new Option('--dir <path>', 'state directory').default(env.JOBLET_FARM_DIR);
  farm
    .command('up')
    .description(
      'start Redis (if none answers), the API, a worker and the local agent in the background',
    )
    .addOption(dirOption())
    .option('--port <port>', 'API port (127.0.0.1 only)', port, 7070)
    .option(
      '--redis-url <url>',
      'Redis to use, or to start when none answers',
      'redis://127.0.0.1:6379',
    )
    .option('--storage-url <url>', 'artifact store (default: a directory under --dir)')
    .option('--prefix <prefix>', 'queue and key prefix', 'joblet')
    .option('--cache-dir <path>', 'base roots and package caches (default /var/cache/joblet-farm)')
    .option(
      '--runtimes-dir <path>',
      'where the local agent installs runtimes (default /opt/joblet/runtimes)',
    )
    .option('--node-name <name>', 'name of the local node (default: from the hostname)')
    .option('--timeout <s>', 'seconds to wait for the farm to answer', (v) => Number(v), 60)
    .action(
      async (o: {
        dir: string;
        port: number;
        redisUrl: string;
        storageUrl?: string;
        prefix: string;
        cacheDir?: string;
        runtimesDir?: string;
        nodeName?: string;
        timeout: number;
      }) => {
        state.exitCode = await farmUp({ ...o, timeoutS: o.timeout }, io);
      },
    );
  farm
    .command('down')
    .description('stop what `rnx farm up` started, keeping the data')
    .addOption(dirOption())
    .action(async (o: { dir: string }) => {
      state.exitCode = await farmDown(o.dir, io);
    });
  farm
    .command('status')
    .addOption(dirOption())
    .option('--json', 'print JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      state.exitCode = await farmStatus(o.dir, o, io);
    });
  farm
    .command('supervise', { hidden: true })
    .addOption(dirOption())
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
    );
}
