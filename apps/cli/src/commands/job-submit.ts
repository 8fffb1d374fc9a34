/**
 * Submitting a job as `rnx job run` does: one argument holding a shell command line
 * (`rnx job run 'apt-get update && apt-get install -y cowsay'`) runs through `/bin/sh -c`, as in
 * Joblet; and a job without `--runtime` on a farm that has not built its default runtime yet
 * waits for that first build (its progress on stderr, so the job's stdout stays clean), then is
 * submitted again.
 */
import { DEFAULT_RUNTIME_BUILDING, JobRecord, type JobRequest } from '@joblet/spec';
import { ApiRequestError, type ApiClient } from '../api-client.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { followBuild } from './runtime-build.js';

/** Characters that make a lone argument a shell command line rather than a program name. */
const SHELL_SYNTAX = /[\s;&|<>()$`\\"'*?~#!{}[\]=]/;

/** `command args` as run: a lone argument with shell syntax becomes `/bin/sh -c <it>`. */
export function shellForm(command: string, args: string[]): { command: string; args: string[] } {
  if (args.length === 0 && SHELL_SYNTAX.test(command.trim())) {
    return { command: '/bin/sh', args: ['-c', command] };
  }
  return { command, args };
}

/** The id of the default runtime's build a 409 names, if that is what it says. */
function defaultRuntimeBuild(err: unknown): string | undefined {
  if (!(err instanceof ApiRequestError) || err.status !== 409) return undefined;
  const issue = err.details.find((d) => d.field === 'runtime');
  const m = issue?.message.startsWith(DEFAULT_RUNTIME_BUILDING)
    ? /([0-9a-f-]{36})$/.exec(issue.message)
    : null;
  return m?.[1];
}

/** Posts the job; waits once for the default runtime's first build when the farm asks to. */
export async function submitJob(client: ApiClient, req: JobRequest, io: Io): Promise<JobRecord> {
  try {
    return await client.post('/v1/jobs', req, JobRecord);
  } catch (err) {
    const buildId = defaultRuntimeBuild(err);
    if (req.runtime !== undefined || buildId === undefined) throw err;
    io.err(paint(io, 'dim', `${(err as Error).message.replace(/^409: /, '')}`));
    io.err(paint(io, 'dim', 'waiting for it (this happens once per farm)…'));
    const progress: Io = { out: (l) => io.err(l), err: (l) => io.err(l), color: io.color };
    const code = await followBuild(client, buildId, { interactive: false }, progress);
    if (code !== EXIT.OK) {
      throw new CliError(
        `the default runtime could not be built (rnx build logs ${buildId}); run with --runtime`,
      );
    }
    return client.post('/v1/jobs', req, JobRecord);
  }
}
