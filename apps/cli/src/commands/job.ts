/**
 * `rnx job run|log|stop|cancel` (list and status: job-read.ts). `run` prints `ID: <uuid>` as
 * Joblet's `rnx` does — on stderr when it follows the job, so the job's own stdout stays clean;
 * on stdout with `--detach`, which returns at once. Following, it exits with the job's exit code,
 * like `docker run` (Joblet's exits 0): stdout lines to stdout, stderr lines to stderr. Job ids
 * may be unique prefixes of 8 or more characters (the API resolves them).
 */
import { InvalidArgumentError } from 'commander';
import { JobEvent, JobRecord, parseDuration, type JobNetwork, type JobRequest } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { followSse } from '../sse-client.js';
import type { CommandDef } from '../command.js';
import { jobPath } from './job-read.js';
import { collect, positiveInt } from './parsers.js';
import { shellForm, submitJob } from './job-submit.js';
import { collectUploads } from './uploads.js';

/** Exit code of `rnx job run` for a job that ended: its own, or a conventional one. */
export function jobExitCode(job: JobRecord): number {
  if (job.state === 'COMPLETED') return 0;
  switch (job.reason) {
    case 'exited':
      return job.exitCode ?? 1;
    case 'out-of-memory':
      return 137;
    case 'timeout':
      return 124;
    case 'stopped':
      return 143;
    case 'signaled':
      return job.exitCode ?? 128;
    default:
      return 1;
  }
}

export function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env ${p}: use NAME=value`);
    env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return env;
}

export async function jobRun(
  client: ApiClient,
  req: JobRequest,
  opts: { detach?: boolean; json?: boolean },
  io: Io,
): Promise<number> {
  const job = await submitJob(client, req, io);
  if (opts.json) {
    io.out(JSON.stringify(job, null, 2));
    return EXIT.OK;
  }
  if (opts.detach) {
    io.out(`ID: ${job.id}`);
    io.out(`Command: ${[job.command, ...job.args].join(' ')}`);
    io.out(`Status: ${job.state}`);
    if (job.scheduledFor) io.out(`Scheduled Time: ${job.scheduledFor}`);
    return EXIT.OK;
  }
  // Unpainted, so `2>&1 | grep '^ID:'` finds it whatever the terminal.
  io.err(`ID: ${job.id}`);
  if (job.state === 'SCHEDULED')
    io.err(paint(io, 'dim', `job ${job.id} scheduled for ${job.scheduledFor}`));
  return followJob(client, job.id, io);
}

/** Prints the job's output as it happens and returns the exit code it ended with. */
export async function followJob(
  client: ApiClient,
  id: string,
  io: Io,
  opts: { quietEnd?: boolean } = {},
): Promise<number> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    for await (const raw of followSse(client.config, jobPath(id, '/logs'), {
      signal: abort.signal,
      isLast: (ev) => ev.event === 'end',
    })) {
      const parsed = JobEvent.safeParse(JSON.parse(raw.data));
      if (!parsed.success) continue;
      const e = parsed.data;
      if (e.type === 'out' && e.stream === 'stderr') io.err(e.line);
      else if (e.type === 'out') io.out(e.line);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (abort.signal.aborted) {
    io.err(`Detached; the job goes on. Stop it with: rnx job stop ${id}`);
    return EXIT.OK;
  }
  const job = await client.get(jobPath(id), JobRecord);
  const code = jobExitCode(job);
  if (job.state !== 'COMPLETED' && !opts.quietEnd) {
    io.err(
      paint(
        io,
        'red',
        `job ${id} ${job.state}${job.message ? `: ${job.message}` : job.reason ? ` (${job.reason})` : ''}`,
      ),
    );
  }
  return code;
}

export async function jobStop(client: ApiClient, id: string, io: Io): Promise<number> {
  const j = await client.post(jobPath(id, '/stop'), {}, JobRecord);
  io.out(
    `job ${j.id}: ${j.state === 'RUNNING' || j.state === 'INITIALIZING' ? 'stop requested' : j.state}`,
  );
  return EXIT.OK;
}

export async function jobCancel(client: ApiClient, id: string, io: Io): Promise<number> {
  const j = await client.post(jobPath(id, '/cancel'), {}, JobRecord);
  io.out(`job ${j.id}: ${j.state}`);
  return EXIT.OK;
}

interface JobRunFlags {
  runtime?: string;
  upload: string[];
  uploadDir: string[];
  maxMemory?: number;
  maxCpu?: number;
  cpuCores?: string;
  maxIobps?: number;
  maxDisk?: number;
  timeout?: string;
  env: string[];
  schedule?: string;
  node?: string;
  network?: JobNetwork;
  volume: string[];
  detach?: boolean;
  json?: boolean;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'job run',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('run a command in a runtime; follows its output and exits with its exit code')
        .option(
          '--runtime <ref>',
          "name, name@1.2.3, name@latest or language:version; default: the farm's default runtime (a writable Debian root)",
        )
        .option('--upload <file>', 'copy a file into /work (repeatable)', collect, [])
        .option('--upload-dir <dir>', 'copy a directory into /work/<dir> (repeatable)', collect, [])
        .option('--max-memory <MB>', 'memory limit in MB', positiveInt('--max-memory'))
        .option('--max-cpu <percent>', 'CPU limit, 100 = one core', positiveInt('--max-cpu'))
        .option('--cpu-cores <list>', 'pin to CPUs, e.g. 0-3 or 1,3')
        .option(
          '--max-iobps <bytes>',
          'disk read/write limit in bytes per second',
          positiveInt('--max-iobps'),
        )
        .option(
          '--max-disk <MB>',
          'size of /work in MB, uploads included (default: the node’s); writes past it fail with ENOSPC',
          positiveInt('--max-disk'),
        )
        .option('--timeout <duration>', 'kill the job after this long, e.g. 30s, 10m')
        .option('--env <NAME=value>', 'environment variable (repeatable)', collect, [])
        .option('--schedule <when>', 'start later: 30s, 30min, 1hour, or an RFC3339 time')
        .option('--node <name>', 'run on this node')
        .option(
          '--network <name>',
          "none (loopback only), isolated (the internet only; alias egress), bridge (the internet and the node's other bridge jobs), a custom network (rnx network create) or host (admins, on nodes that allow it); default the farm's",
        )
        .option('--volume <name>', 'mount a volume at /volumes/<name> (repeatable)', collect, [])
        .option('-d, --detach', 'print ID:, Command: and Status: lines and return at once')
        .option('--json', 'print the job record as JSON and return')
        .argument(
          '<command>',
          'the command to run; a lone argument with shell syntax runs in /bin/sh -c',
        )
        .argument('[args...]', 'its arguments (put -- before them if they start with -)')
        .passThroughOptions()
        .action(async (command: string, args: string[], o: JobRunFlags) => {
          const timeoutS = o.timeout === undefined ? undefined : parseDuration(o.timeout);
          if (o.timeout !== undefined && !timeoutS)
            throw new InvalidArgumentError(`--timeout ${o.timeout}: use e.g. 30s, 10m, 1h`);
          state.exitCode = await jobRun(
            client(),
            {
              ...shellForm(command, args),
              ...(o.runtime !== undefined && { runtime: o.runtime }),
              uploads: collectUploads(o.upload, o.uploadDir),
              env: parseEnv(o.env),
              limits: {
                maxMemoryMB: o.maxMemory,
                maxCpuPercent: o.maxCpu,
                cpuCores: o.cpuCores,
                maxIoBps: o.maxIobps,
                maxDiskMB: o.maxDisk,
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
        }),
  },
  {
    path: 'job log',
    define: (cmd, { io, client }) =>
      cmd
        .description('the job’s output: history, then live until it ends')
        .argument('<job-id>', 'the job id, or a unique prefix of 8 or more characters')
        .option('-f, --follow', 'follow (the default)')
        .action(async (id: string) => {
          await followJob(client(), id, io, { quietEnd: true });
        }),
  },
  {
    path: 'job stop',
    define: (cmd, { io, state, client }) =>
      cmd.argument('<job-id>', 'the job id or a unique prefix').action(async (id: string) => {
        state.exitCode = await jobStop(client(), id, io);
      }),
  },
  {
    path: 'job cancel',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('cancel a scheduled or queued job')
        .argument('<job-id>', 'the job id or a unique prefix')
        .action(async (id: string) => {
          state.exitCode = await jobCancel(client(), id, io);
        }),
  },
];
