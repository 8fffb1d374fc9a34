/**
 * `rnx job run|list|status|log|stop|cancel`. `run` follows the job's output by default and exits
 * with its exit code, like `docker run`: stdout lines to stdout, stderr lines to stderr.
 */
import { JobEvent, JobRecord, ListJobsResponse, type JobRequest } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { formatBytes, formatDuration, table } from '../render/format.js';
import { followSse } from '../sse-client.js';

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
  const job = await client.post('/v1/jobs', req, JobRecord);
  if (opts.detach || opts.json) {
    io.out(opts.json ? JSON.stringify(job, null, 2) : job.id);
    return EXIT.OK;
  }
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
    for await (const raw of followSse(client.config, `/v1/jobs/${encodeURIComponent(id)}/logs`, {
      signal: abort.signal,
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
  const job = await client.get(`/v1/jobs/${id}`, JobRecord);
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

export async function jobList(
  client: ApiClient,
  opts: { json?: boolean; limit: number },
  io: Io,
): Promise<number> {
  const { jobs } = await client.get(`/v1/jobs?limit=${opts.limit}`, ListJobsResponse);
  if (opts.json) {
    io.out(JSON.stringify(jobs, null, 2));
    return EXIT.OK;
  }
  const rows = jobs.map((j) => [
    j.id,
    j.state,
    `${j.runtime.name}@${j.runtime.version}`,
    j.node ?? '-',
    j.exitCode === undefined ? '-' : String(j.exitCode),
    [j.command, ...j.args].join(' ').slice(0, 60),
  ]);
  for (const l of table([['JOB', 'STATE', 'RUNTIME', 'NODE', 'EXIT', 'COMMAND'], ...rows]))
    io.out(l);
  return EXIT.OK;
}

export async function jobStatus(
  client: ApiClient,
  id: string,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const j = await client.get(`/v1/jobs/${encodeURIComponent(id)}`, JobRecord);
  if (opts.json) {
    io.out(JSON.stringify(j, null, 2));
    return EXIT.OK;
  }
  const row = (k: string, v: string | undefined) =>
    v !== undefined && io.out(`${k.padEnd(14)}${v}`);
  row('Job:', j.id);
  row('State:', `${j.state}${j.reason ? ` (${j.reason})` : ''}`);
  row('Message:', j.message);
  row('Command:', [j.command, ...j.args].join(' '));
  row('Runtime:', `${j.runtime.name}@${j.runtime.version} (${j.arch})`);
  row('Node:', j.node);
  row('Exit code:', j.exitCode === undefined ? undefined : String(j.exitCode));
  row('Submitted:', j.createdAt);
  row('Scheduled:', j.scheduledFor);
  row('Started:', j.startedAt);
  row('Finished:', j.finishedAt);
  row(
    'Start latency:',
    j.startLatencyMs === undefined ? undefined : formatDuration(j.startLatencyMs),
  );
  row(
    'Peak memory:',
    j.usage?.peakMemoryBytes === undefined ? undefined : formatBytes(j.usage.peakMemoryBytes),
  );
  row(
    'CPU time:',
    j.usage?.cpuUsageUsec === undefined ? undefined : formatDuration(j.usage.cpuUsageUsec / 1000),
  );
  row(
    'Output:',
    j.output
      ? `${j.output.lines} lines${j.output.truncated ? ' (truncated; the tail is kept)' : ''}`
      : undefined,
  );
  return EXIT.OK;
}

export async function jobStop(client: ApiClient, id: string, io: Io): Promise<number> {
  const j = await client.post(`/v1/jobs/${encodeURIComponent(id)}/stop`, {}, JobRecord);
  io.out(
    `job ${j.id}: ${j.state === 'RUNNING' || j.state === 'INITIALIZING' ? 'stop requested' : j.state}`,
  );
  return EXIT.OK;
}

export async function jobCancel(client: ApiClient, id: string, io: Io): Promise<number> {
  const j = await client.post(`/v1/jobs/${encodeURIComponent(id)}/cancel`, {}, JobRecord);
  io.out(`job ${j.id}: ${j.state}`);
  return EXIT.OK;
}
