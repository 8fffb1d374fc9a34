/**
 * `rnx job list` and `rnx job status`, printed as Joblet's `rnx` prints them, because scripts
 * parse them: the list has Joblet's columns (ID, NAME, NODE ID, STATUS, START TIME, COMMAND) under
 * a dashed line, and the status is `Key: value` lines starting with `Job ID:`, `Command:` and
 * `Status:`. A job id may be a unique prefix of 8 or more characters (the API resolves it).
 */
import { JobRecord, ListJobsResponse, type JobSummary } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { formatBytes, formatDuration, table } from '../render/format.js';
import { isWide, outputOption, printData, type ListOutput } from '../render/output.js';
import type { CommandDef } from '../command.js';
import { positiveInt } from './parsers.js';

/** The path of a job's record; `id` may be a unique prefix. */
export const jobPath = (id: string, rest = '') => `/v1/jobs/${encodeURIComponent(id)}${rest}`;

/** Joblet's START TIME: `2026-01-02 15:04:05` (UTC), the scheduled time for a scheduled job. */
function startTime(j: JobSummary): string {
  const at = j.state === 'SCHEDULED' ? j.scheduledFor : j.startedAt;
  return at ? at.slice(0, 19).replace('T', ' ') : 'N/A';
}

/** Commands longer than this are cut with `...`, as Joblet cuts them. */
const COMMAND_COLUMN_CHARS = 80;

export async function jobList(
  client: ApiClient,
  opts: ListOutput & { limit: number },
  io: Io,
): Promise<number> {
  const { jobs } = await client.get(`/v1/jobs?limit=${opts.limit}`, ListJobsResponse);
  if (printData(io, opts, jobs)) return EXIT.OK;
  if (jobs.length === 0) {
    io.out('No jobs found');
    return EXIT.OK;
  }
  // -o wide: the runtime, arch, network and exit code, before the command (which stays last).
  const wide = isWide(opts);
  const header = ['ID', 'NAME', 'NODE ID', 'STATUS', 'START TIME'];
  if (wide) header.push('RUNTIME', 'ARCH', 'NETWORK', 'EXIT CODE');
  header.push('COMMAND');
  const rows = jobs.map((j) => {
    const cut = j.commandLine.length > COMMAND_COLUMN_CHARS || j.commandLineTruncated;
    const command = cut ? `${j.commandLine.slice(0, COMMAND_COLUMN_CHARS - 3)}...` : j.commandLine;
    const more = [
      `${j.runtime.name}@${j.runtime.version}`,
      j.arch,
      j.network,
      j.exitCode === undefined ? '-' : String(j.exitCode),
    ];
    // Jobs have no names here; Joblet shows "-" for a job without one.
    return [j.id, '-', j.node ?? '-', j.state, startTime(j), ...(wide ? more : []), command];
  });
  for (const l of table([header, header.map((h) => '-'.repeat(h.length)), ...rows])) io.out(l);
  return EXIT.OK;
}

export async function jobStatus(
  client: ApiClient,
  id: string,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const j = await client.get(jobPath(id), JobRecord);
  if (opts.json) {
    io.out(JSON.stringify(j, null, 2));
    return EXIT.OK;
  }
  const row = (k: string, v: string | undefined) => v !== undefined && io.out(`${k}: ${v}`);
  row('Job ID', j.id);
  row('Command', [j.command, ...j.args].join(' '));
  row('Status', `${j.state}${j.reason ? ` (${j.reason})` : ''}`);
  row('Message', j.message);
  row('Runtime', `${j.runtime.name}@${j.runtime.version} (${j.arch})`);
  row('Node', j.node);
  row('Network', `${j.network}${j.ip ? `  IP: ${j.ip}` : ''}`);
  row('Volumes', j.volumes.length > 0 ? j.volumes.join(', ') : undefined);
  row('Exit Code', j.exitCode === undefined ? undefined : String(j.exitCode));
  row('Created', j.createdAt);
  row('Scheduled Time', j.scheduledFor);
  row('Started', j.startedAt);
  row('Ended', j.finishedAt);
  row(
    'Start Latency',
    j.startLatencyMs === undefined ? undefined : formatDuration(j.startLatencyMs),
  );
  row(
    'Peak Memory',
    j.usage?.peakMemoryBytes === undefined ? undefined : formatBytes(j.usage.peakMemoryBytes),
  );
  row(
    'CPU Time',
    j.usage?.cpuUsageUsec === undefined ? undefined : formatDuration(j.usage.cpuUsageUsec / 1000),
  );
  row(
    'Output',
    j.output
      ? `${j.output.lines} lines${j.output.truncated ? ' (truncated; the tail is kept)' : ''}`
      : undefined,
  );
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'job list',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('recent jobs, newest first: ID, NAME, NODE ID, STATUS, START TIME, COMMAND')
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .option('--limit <n>', 'how many', positiveInt('--limit'), 20)
        .action(async (o: ListOutput & { limit: number }) => {
          state.exitCode = await jobList(client(), o, io);
        }),
  },
  {
    path: 'job status',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('a job’s status and details')
        .argument('<job-id>', 'the job id, or a unique prefix of 8 or more characters')
        .option('--json', 'print JSON')
        .action(async (id: string, o: { json?: boolean }) => {
          state.exitCode = await jobStatus(client(), id, o, io);
        }),
  },
];
