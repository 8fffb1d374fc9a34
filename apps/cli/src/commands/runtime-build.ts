/**
 * `rnx runtime build [-v] [--force] [--arch a,b] [--no-wait] [--allow-partial] <file-or-dir>`:
 * submits the spec, follows the build's events (phases per arch; log lines with -v) and prints a
 * summary. Exit 0 only when every requested architecture succeeded (or the build was cached).
 */
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import {
  BuildEvent,
  BuildRecord,
  SubmitBuildResponse,
  validateRuntimeSpec,
  type Arch,
  type ArtifactInfo,
  type SkippedArch,
} from '@joblet/spec';
import { Option } from 'commander';
import { ApiClient } from '../api-client.js';
import type { ServerConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { renderDiagnostic } from '../render/diagnostics.js';
import { formatBytes, formatDuration, table } from '../render/format.js';
import { readSpecBytes, resolveSpecPath } from '../spec-file.js';
import { followSse } from '../sse-client.js';
import { progressInvalid, progressJson } from './build-progress.js';
import { waitDeploy } from './runtime-manage.js';
import type { CommandDef } from '../command.js';

export interface BuildOptions {
  verbose?: boolean;
  force?: boolean;
  arch?: Arch[];
  wait?: boolean;
  allowPartial?: boolean;
  json?: boolean;
  /** After publishing, wait until every online node of each built arch has it installed. */
  waitDeploy?: boolean;
  deployTimeoutS?: number;
  server: ServerConfig;
  /** Ctrl-C handling: ask on a terminal; tests and pipes detach. */
  interactive?: boolean;
  /** `json`: NDJSON events on stdout instead of the text (build-progress.ts). */
  progress?: 'text' | 'json';
}

export async function runtimeBuild(target: string, opts: BuildOptions, io: Io): Promise<number> {
  const file = resolveSpecPath(target);
  const { bytes } = readSpecBytes(file);
  // Offline first: a broken spec is reported with positions without needing the server.
  const offline = validateRuntimeSpec(bytes, { file });
  const ndjson = opts.progress === 'json';
  if (!offline.ok && ndjson) return progressInvalid(io, file, offline.errors);
  if (!offline.ok) {
    io.out(`${paint(io, 'red', '✗')} ${file} is invalid:`);
    for (const e of offline.errors) io.out(renderDiagnostic(io, e, '  '));
    return EXIT.FAILED;
  }
  const client = new ApiClient(opts.server);
  const res = await client.post(
    '/v1/builds',
    {
      spec: Buffer.from(bytes).toString('utf8'),
      filename: basename(file),
      force: Boolean(opts.force),
      architectures: opts.arch,
      // The NDJSON stream carries every log line (a tool filters; it cannot ask again).
      verbose: Boolean(opts.verbose) || ndjson,
      allowPartial: Boolean(opts.allowPartial),
    },
    SubmitBuildResponse,
  );

  if (ndjson) {
    const deploy = {
      waitDeploy: Boolean(opts.waitDeploy),
      deployTimeoutS: opts.deployTimeoutS ?? 300,
    };
    return progressJson(client, res, { wait: opts.wait !== false, ...deploy }, io);
  }
  if (res.result === 'cached') {
    if (opts.json) {
      io.out(JSON.stringify(res, null, 2));
      return EXIT.OK;
    }
    io.out(
      `${paint(io, 'green', '✓')} ${res.name} ${res.version} is cached (published ${res.index.publishedAt}); --force rebuilds it`,
    );
    printSkipped(io, res.skipped);
    printArtifacts(
      io,
      Object.values(res.index.arches).map((a) => ({ arch: a.arch, result: 'cached', artifact: a })),
    );
    // Cached is not the same as deployed: a node may still be installing it, or be new.
    if (!opts.waitDeploy) return EXIT.OK;
    return waitDeploy(client, `${res.name}@${res.version}`, opts.deployTimeoutS ?? 300, io);
  }

  const build = res.build;
  if (!opts.json) {
    io.out(
      `Building ${build.name} ${build.version} for ${build.arches.join(', ')} ` +
        `${paint(io, 'dim', `(build ${build.id}${res.deduplicated ? ', joined an identical build in progress' : ''})`)}`,
    );
    printSkipped(io, build.skipped ?? []);
  }
  if (opts.wait === false) {
    if (opts.json) io.out(JSON.stringify(res, null, 2));
    else io.out(`Not waiting. Follow it with: rnx build logs -f ${build.id}`);
    return EXIT.OK;
  }
  const code = await followBuild(client, build.id, opts, io);
  if (code !== EXIT.OK || !opts.waitDeploy) return code;
  io.out(`Waiting for ${build.name}@${build.version} to be installed on every node:`);
  return waitDeploy(client, `${build.name}@${build.version}`, opts.deployTimeoutS ?? 300, io);
}

/** Follows a build to its end; shared with `rnx build logs -f`. */
export async function followBuild(
  client: ApiClient,
  buildId: string,
  opts: Pick<BuildOptions, 'verbose' | 'json' | 'interactive'>,
  io: Io,
): Promise<number> {
  const abort = new AbortController();
  const onSigint = () => void askCancelOrDetach(client, buildId, abort, opts, io);
  process.on('SIGINT', onSigint);
  const durations = new Map<Arch, number>();
  try {
    for await (const raw of followSse(
      client.config,
      `/v1/builds/${encodeURIComponent(buildId)}/events`,
      { signal: abort.signal, isLast: (ev) => ev.event === 'done' },
    )) {
      const parsed = BuildEvent.safeParse(JSON.parse(raw.data));
      if (!parsed.success || opts.json) continue;
      const e = parsed.data;
      switch (e.type) {
        case 'submitted':
          break;
        case 'phase':
          io.out(`${tag(io, e.arch)} [${e.n}/${e.total}] ${e.name}`);
          break;
        case 'log':
          if (opts.verbose) io.out(`${tag(io, e.arch)} ${paint(io, 'dim', '|')} ${e.line}`);
          break;
        case 'arch-retry':
          io.out(
            `${tag(io, e.arch)} ${paint(io, 'yellow', '↻')} attempt ${e.attempt} failed (${e.error.message}); retrying`,
          );
          break;
        case 'arch-succeeded':
          durations.set(e.arch, e.durationMs);
          io.out(
            `${tag(io, e.arch)} ${paint(io, 'green', '✓')} built in ${formatDuration(e.durationMs)}: ` +
              `${formatBytes(e.artifact.size)}, sha256 ${e.artifact.sha256.slice(0, 16)}…`,
          );
          break;
        case 'arch-failed':
          io.out(
            `${tag(io, e.arch)} ${paint(io, 'red', '✗')} failed: ${e.error.code}: ${e.error.message}`,
          );
          if (e.error.details)
            for (const l of e.error.details.split('\n').slice(-20))
              io.out(`${tag(io, e.arch)}   ${l}`);
          break;
        case 'arch-canceled':
          io.out(`${tag(io, e.arch)} canceled`);
          break;
        case 'done':
          break;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (abort.signal.aborted) {
    io.out(`Detached; the build goes on. Follow it with: rnx build logs -f ${buildId}`);
    return EXIT.OK;
  }
  const final = await client.get(`/v1/builds/${buildId}`, BuildRecord);
  if (opts.json) {
    io.out(JSON.stringify(final, null, 2));
    return final.state === 'succeeded' ? EXIT.OK : EXIT.FAILED;
  }
  const rows = final.arches.map((arch) => ({
    arch,
    result: final.archStatus[arch]?.state ?? 'unknown',
    artifact: final.archStatus[arch]?.artifact,
    durationMs: durations.get(arch),
  }));
  const failed = final.arches.filter((a) => final.archStatus[a]?.state === 'failed');
  if (final.state === 'succeeded' && failed.length > 0) {
    // --allow-partial: published, but not for every arch asked for; say which are missing.
    const built = final.arches.filter((a) => !failed.includes(a));
    io.out(
      `${paint(io, 'yellow', '!')} ${final.name} ${final.version} published for ${built.join(', ')} only ` +
        `(--allow-partial; failed: ${failed.join(', ')})`,
    );
  } else if (final.state === 'succeeded') {
    const skipped = (final.skipped ?? []).map((s) => s.arch);
    io.out(
      `${paint(io, 'green', '✓')} ${final.name} ${final.version} published` +
        (skipped.length ? ` for ${final.arches.join(', ')} (skipped: ${skipped.join(', ')})` : ''),
    );
  } else {
    const why = final.error ? `: ${final.error.message}` : '';
    io.out(`${paint(io, 'red', '✗')} ${final.name} ${final.version} ${final.state}${why}`);
  }
  printArtifacts(io, rows);
  return final.state === 'succeeded' ? EXIT.OK : EXIT.FAILED;
}

/** The spec's architectures this farm did not build, each with how to get it. */
function printSkipped(io: Io, skipped: readonly SkippedArch[]): void {
  for (const s of skipped) {
    io.out(`${paint(io, 'yellow', '!')} ${s.arch} skipped: ${s.reason}`);
  }
}

function tag(io: Io, arch: string): string {
  return paint(io, 'bold', `[${arch}]`);
}

function printArtifacts(
  io: Io,
  rows: { arch: string; result: string; artifact?: ArtifactInfo; durationMs?: number }[],
): void {
  const lines = table([
    ['ARCH', 'RESULT', 'SIZE', 'SHA256', 'DURATION'],
    ...rows.map((r) => [
      r.arch,
      r.result === 'succeeded' ? 'built' : r.result,
      r.artifact ? formatBytes(r.artifact.size) : '-',
      r.artifact ? r.artifact.sha256 : '-',
      r.durationMs !== undefined ? formatDuration(r.durationMs) : '-',
    ]),
  ]);
  for (const l of lines) io.out(`  ${l}`);
}

let asking = false;
async function askCancelOrDetach(
  client: ApiClient,
  buildId: string,
  abort: AbortController,
  opts: Pick<BuildOptions, 'interactive'>,
  io: Io,
): Promise<void> {
  if (asking) {
    abort.abort(); // a second Ctrl-C while asking: detach at once
    return;
  }
  if (!opts.interactive) {
    abort.abort();
    return;
  }
  asking = true;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `\nCancel build ${buildId}? [y/N] (no: detach, the build goes on) `,
    );
    if (/^y(es)?$/i.test(answer.trim())) {
      await client.post(`/v1/builds/${buildId}/cancel`, {}, BuildRecord);
      io.err('cancel requested; waiting for the build to stop');
    } else {
      abort.abort();
    }
  } finally {
    rl.close();
    asking = false;
  }
}

/** `--arch amd64,arm64` */
export function parseArchList(value: string): Arch[] {
  const arches = value.split(',').map((a) => a.trim());
  for (const a of arches) {
    if (a !== 'amd64' && a !== 'arm64')
      throw new UsageError(`--arch: unknown architecture "${a}" (amd64, arm64)`);
  }
  return arches as Arch[];
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime build',
    define: (cmd, { io, state, client, interactive }) =>
      cmd
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
        .option(
          '--allow-partial',
          'publish the architectures that succeeded even if another failed',
        )
        .option('--json', 'print the result as JSON (no progress lines)')
        .addOption(
          new Option('--progress <format>', 'json: NDJSON events on stdout, one per line')
            .choices(['text', 'json'])
            .default('text')
            .conflicts('json'),
        )
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
              progress: 'text' | 'json';
            },
          ) => {
            const c = client();
            state.exitCode = await runtimeBuild(
              target,
              { ...o, deployTimeoutS: o.deployTimeout, server: c.config, interactive },
              io,
            );
          },
        ),
  },
];
