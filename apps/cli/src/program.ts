/** The `rnx` command tree. Each command's work lives in `commands/`; this file only wires flags. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient } from './api-client.js';
import { buildCancel, buildList, buildLogs, buildStatus } from './commands/build-read.js';
import { registerFarmCommands } from './commands/farm-commands.js';
import { parseArchList, runtimeBuild } from './commands/runtime-build.js';
import { runtimeValidate } from './commands/runtime-validate.js';
import { nodeList, runtimeInfo, runtimeList } from './commands/runtime-read.js';
import {
  jobCancel,
  jobList,
  jobRun,
  jobStatus,
  jobStop,
  followJob,
  parseEnv,
} from './commands/job.js';
import { collectUploads } from './commands/uploads.js';
import { volumeCreate, volumeList, volumeRemove } from './commands/volume.js';
import { JOB_NETWORKS, parseDuration, type JobNetwork } from '@joblet/spec';
import { runtimeRemove, runtimeTest } from './commands/runtime-manage.js';
import { runtimeGc } from './commands/runtime-gc.js';
import { resolveServer, resolveServerOrLocal } from './config.js';
import type { CliEnv } from './env.js';
import { readFarmState } from './farm/farm-state.js';
import type { Io } from './io.js';
import { addSecurityCommands } from './program-security.js';

export const CLI_VERSION = '0.1.0';

/** Commands report their exit code here; commander itself only parses. */
export interface RunState {
  exitCode: number;
}

export function buildProgram(env: CliEnv, io: Io, state: RunState): Command {
  const program = new Command('rnx')
    .description('Joblet Runtime Farm: build runtimes for every architecture and run jobs in them')
    .version(CLI_VERSION)
    .option(
      '--server <url>',
      'API server URL (default: RNX_SERVER, ~/.rnx/rnx-config.yml, then the local farm)',
    )
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  const flag = () => program.opts<{ server?: string }>().server;
  const server = () => resolveServer(env, flag());
  const client = () =>
    new ApiClient(resolveServerOrLocal(env, flag(), readFarmState(env.JOBLET_FARM_DIR)?.apiUrl));
  const interactive = Boolean(process.stdin.isTTY);

  const runtime = program.command('runtime').description('build, inspect and manage runtimes');
  runtime
    .command('validate')
    .description('validate a runtime.yaml (offline; also server-side when a server is configured)')
    .argument('<file-or-dir>', 'a runtime.yaml, or a directory holding runtime.yaml / runtime.yml')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--offline', 'do not ask the server even when one is configured'))
    .action(async (target: string, opts: { json?: boolean; offline?: boolean }) => {
      state.exitCode = await runtimeValidate(
        target,
        { ...opts, server: opts.offline ? undefined : server() },
        io,
      );
    });
  runtime
    .command('build')
    .description('build a runtime for every architecture it names, and follow the build')
    .argument('<file-or-dir>', 'a runtime.yaml, or a directory holding one')
    .option('-v, --verbose', 'show every log line of the build')
    .option('--force', 'rebuild even when cached; replace an existing version')
    .option(
      '--arch <list>',
      'architectures to build, e.g. amd64,arm64 (default: the spec’s)',
      parseArchList,
    )
    .option('--no-wait', 'return once the build is queued')
    .option('--allow-partial', 'publish the architectures that succeeded even if another failed')
    .option('--json', 'print the result as JSON (no progress lines)')
    .option(
      '--wait-deploy',
      'then wait until every online node of each built arch has it installed',
    )
    .option('--deploy-timeout <s>', 'seconds to wait for --wait-deploy', (v) => Number(v), 300)
    .action(
      async (
        target: string,
        o: {
          verbose?: boolean;
          force?: boolean;
          arch?: ('amd64' | 'arm64')[];
          wait: boolean;
          allowPartial?: boolean;
          json?: boolean;
          waitDeploy?: boolean;
          deployTimeout: number;
        },
      ) => {
        const c = client();
        state.exitCode = await runtimeBuild(
          target,
          {
            ...o,
            deployTimeoutS: o.deployTimeout,
            server: c.config,
            interactive,
          },
          io,
        );
      },
    );

  runtime
    .command('list')
    .description('published runtimes, with architectures and the nodes that have them')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      state.exitCode = await runtimeList(client(), o, io);
    });
  runtime
    .command('info')
    .description('everything about a runtime: packages, artifacts, environment, where installed')
    .argument('<ref>', 'name, name@1.2.3, name@latest or language:version')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      state.exitCode = await runtimeInfo(client(), ref, o, io);
    });
  runtime
    .command('test')
    .description('run the runtime’s language binary on a node that has it installed')
    .argument('<ref>', 'name, name@1.2.3, name@latest or language:version')
    .option('--node <name>', 'run on this node')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { node?: string; json?: boolean }) => {
      state.exitCode = await runtimeTest(client(), ref, o, io);
    });
  runtime
    .command('remove')
    .description('remove a runtime (all versions, or name@version) from the farm and every node')
    .argument('<ref>', 'name or name@version')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, o: { yes?: boolean }) => {
      state.exitCode = await runtimeRemove(client(), ref, { ...o, interactive }, io);
    });
  runtime
    .command('gc')
    .description(
      'remove what the artifact store holds that nothing needs (old versions, orphans, unused bases)',
    )
    .option('--dry-run', 'only show what would go and how much space it frees')
    .option('--json', 'print JSON')
    .action(async (o: { dryRun?: boolean; json?: boolean }) => {
      state.exitCode = await runtimeGc(client(), o, io);
    });

  program
    .command('node')
    .description('execution nodes')
    .command('list')
    .description('nodes, their architecture, state, heartbeat, runtimes and free disk')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      state.exitCode = await nodeList(client(), o, io);
    });

  const collect = (v: string, prev: string[]) => [...prev, v];
  const int = (name: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name}: a positive whole number`);
    return n;
  };
  const job = program.command('job').description('run commands in runtimes on execution nodes');
  job
    .command('run')
    .description('run a command in a runtime; follows its output and exits with its exit code')
    .requiredOption('--runtime <ref>', 'name, name@1.2.3, name@latest or language:version')
    .option('--upload <file>', 'copy a file into /work (repeatable)', collect, [])
    .option('--upload-dir <dir>', 'copy a directory into /work/<dir> (repeatable)', collect, [])
    .option('--max-memory <MB>', 'memory limit in MB', int('--max-memory'))
    .option('--max-cpu <percent>', 'CPU limit, 100 = one core', int('--max-cpu'))
    .option('--cpu-cores <list>', 'pin to CPUs, e.g. 0-3 or 1,3')
    .option('--max-iobps <bytes>', 'disk read/write limit in bytes per second', int('--max-iobps'))
    .option('--timeout <duration>', 'kill the job after this long, e.g. 30s, 10m')
    .option('--env <NAME=value>', 'environment variable (repeatable)', collect, [])
    .option('--schedule <when>', 'start later: 30s, 30min, 1hour, or an RFC3339 time')
    .option('--node <name>', 'run on this node')
    .addOption(
      new Option(
        '--network <mode>',
        "none (loopback only), egress (outside world, not the node's loopback) or host",
      )
        .choices([...JOB_NETWORKS])
        .default('none'),
    )
    .option('--volume <name>', 'mount a volume at /volumes/<name> (repeatable)', collect, [])
    .option('-d, --detach', 'print the job id and return')
    .option('--json', 'print the job record as JSON and return')
    .argument('<command>', 'the command to run')
    .argument('[args...]', 'its arguments (put -- before them if they start with -)')
    .passThroughOptions()
    .action(
      async (
        command: string,
        args: string[],
        o: {
          runtime: string;
          upload: string[];
          uploadDir: string[];
          maxMemory?: number;
          maxCpu?: number;
          cpuCores?: string;
          maxIobps?: number;
          timeout?: string;
          env: string[];
          schedule?: string;
          node?: string;
          network: JobNetwork;
          volume: string[];
          detach?: boolean;
          json?: boolean;
        },
      ) => {
        const timeoutS = o.timeout === undefined ? undefined : parseDuration(o.timeout);
        if (o.timeout !== undefined && !timeoutS)
          throw new InvalidArgumentError(`--timeout ${o.timeout}: use e.g. 30s, 10m, 1h`);
        state.exitCode = await jobRun(
          client(),
          {
            command,
            args,
            runtime: o.runtime,
            uploads: collectUploads(o.upload, o.uploadDir),
            env: parseEnv(o.env),
            limits: {
              maxMemoryMB: o.maxMemory,
              maxCpuPercent: o.maxCpu,
              cpuCores: o.cpuCores,
              maxIoBps: o.maxIobps,
              timeoutS,
            },
            schedule: o.schedule,
            node: o.node,
            network: o.network,
            volumes: o.volume,
          },
          o,
          io,
        );
      },
    );
  job
    .command('list')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', int('--limit'), 20)
    .action(async (o: { json?: boolean; limit: number }) => {
      state.exitCode = await jobList(client(), o, io);
    });
  job
    .command('status')
    .argument('<job-id>')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      state.exitCode = await jobStatus(client(), id, o, io);
    });
  job
    .command('log')
    .description('the job’s output: history, then live until it ends')
    .argument('<job-id>')
    .option('-f, --follow', 'follow (the default)')
    .action(async (id: string) => {
      await followJob(client(), id, io, { quietEnd: true });
    });
  job
    .command('stop')
    .argument('<job-id>')
    .action(async (id: string) => {
      state.exitCode = await jobStop(client(), id, io);
    });
  job
    .command('cancel')
    .description('cancel a scheduled or queued job')
    .argument('<job-id>')
    .action(async (id: string) => {
      state.exitCode = await jobCancel(client(), id, io);
    });

  const volume = program.command('volume').description('named persistent directories on a node');
  volume
    .command('create')
    .argument('<name>')
    .option('--node <name>', 'the node (required when several are online)')
    .action(async (name: string, o: { node?: string }) => {
      state.exitCode = await volumeCreate(client(), name, o, io);
    });
  volume
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      state.exitCode = await volumeList(client(), o, io);
    });
  volume
    .command('remove')
    .argument('<name>')
    .option('--node <name>', 'the node')
    .action(async (name: string, o: { node?: string }) => {
      state.exitCode = await volumeRemove(client(), name, o, io);
    });

  const build = program.command('build').description('inspect builds');
  build
    .command('list')
    .description('recent builds, newest first')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', (v) => Number(v), 20)
    .action(async (o: { json?: boolean; limit: number }) => {
      state.exitCode = await buildList(client(), o, io);
    });
  build
    .command('status')
    .argument('<build-id>')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      state.exitCode = await buildStatus(client(), id, o, io);
    });
  build
    .command('logs')
    .description('the build’s phases and log lines; follows until it ends')
    .argument('<build-id>')
    .option('-f, --follow', 'follow (the default; kept for familiarity)')
    .action(async (id: string) => {
      state.exitCode = await buildLogs(client(), id, { interactive }, io);
    });
  build
    .command('cancel')
    .argument('<build-id>')
    .action(async (id: string) => {
      state.exitCode = await buildCancel(client(), id, io);
    });

  addSecurityCommands(program, client, io, state);

  registerFarmCommands(program, env, io, state);

  return program;
}
