/**
 * `rnx runtime build --progress=json`: the build as NDJSON on stdout, one event per line, for CI
 * and tools (as `docker buildx build --progress=rawjson` streams its own). Human text, when there
 * is any (`--wait-deploy`'s per-node lines), goes to stderr. Every event has `type` and `time`;
 * the schema is in docs/rnx-progress-json.md, and the last event is always `done` with the exit
 * code `rnx` then exits with.
 */
import {
  BuildEvent,
  BuildRecord,
  RuntimeDetail,
  type Diagnostic,
  type SubmitBuildResponse,
} from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { followSse } from '../sse-client.js';
import { waitDeploy } from './runtime-manage.js';

export type ProgressEvent = { type: string } & Record<string, unknown>;

/** Writes one event as one line of JSON, stamped with the time. */
export function emitter(io: Io): (e: ProgressEvent) => void {
  return (e) => io.out(JSON.stringify({ ...e, time: new Date().toISOString() }));
}

/** A spec that failed offline validation: one `diagnostic` per error, then `done`. */
export function progressInvalid(io: Io, file: string, errors: readonly Diagnostic[]): number {
  const emit = emitter(io);
  for (const d of errors) emit({ ...d, type: 'diagnostic' });
  emit({ type: 'done', state: 'invalid', exitCode: EXIT.FAILED, file });
  return EXIT.FAILED;
}

export interface ProgressOptions {
  wait: boolean;
  waitDeploy: boolean;
  deployTimeoutS: number;
}

/** From the submit response to `done`: queued or cached, the build's events, publish, deploy. */
export async function progressJson(
  client: ApiClient,
  res: SubmitBuildResponse,
  opts: ProgressOptions,
  io: Io,
): Promise<number> {
  const emit = emitter(io);
  if (res.result === 'cached') {
    const arches = Object.keys(res.index.arches);
    emit({ type: 'cached', name: res.name, version: res.version, arches, skipped: res.skipped });
    return deployAndFinish(client, `${res.name}@${res.version}`, 'cached', opts, io);
  }
  const b = res.build;
  emit({
    type: 'queued',
    build: b.id,
    name: b.name,
    version: b.version,
    arches: b.arches,
    skipped: b.skipped ?? [],
    deduplicated: Boolean(res.deduplicated),
  });
  if (!opts.wait) {
    emit({ type: 'done', build: b.id, state: 'queued', exitCode: EXIT.OK });
    return EXIT.OK;
  }
  const started = new Set<string>();
  const path = `/v1/builds/${encodeURIComponent(b.id)}/events`;
  for await (const raw of followSse(client.config, path)) {
    const parsed = BuildEvent.safeParse(JSON.parse(raw.data));
    if (!parsed.success) continue;
    const e = parsed.data;
    if ('arch' in e && !started.has(e.arch) && e.type !== 'arch-canceled') {
      started.add(e.arch);
      emit({ type: 'started', build: b.id, arch: e.arch });
    }
    const ev = buildEventToProgress(e);
    if (ev) emit({ ...ev, build: b.id });
  }
  const final = await client.get(`/v1/builds/${encodeURIComponent(b.id)}`, BuildRecord);
  if (final.state !== 'succeeded') {
    emit({
      type: 'done',
      build: b.id,
      state: final.state,
      exitCode: EXIT.FAILED,
      error: final.error,
    });
    return EXIT.FAILED;
  }
  const published = final.arches.filter((a) => final.archStatus[a]?.state === 'succeeded');
  emit({ type: 'published', build: b.id, name: b.name, version: b.version, arches: published });
  return deployAndFinish(client, `${b.name}@${b.version}`, 'succeeded', opts, io, b.id);
}

/** The farm's build event as a progress event; undefined for those it has no line for. */
function buildEventToProgress(e: BuildEvent): ProgressEvent | undefined {
  switch (e.type) {
    case 'phase':
      return { type: 'phase', arch: e.arch, n: e.n, total: e.total, name: e.name };
    case 'log':
      return { type: 'log', arch: e.arch, stream: e.stream, line: e.line };
    case 'arch-retry':
      return { type: 'retry', arch: e.arch, attempt: e.attempt, error: e.error };
    case 'arch-succeeded': {
      const { sha256, size, treeHash, treeBytes } = e.artifact;
      const artifact = { sha256, size, treeHash, treeBytes };
      return { type: 'succeeded', arch: e.arch, artifact, durationMs: e.durationMs };
    }
    case 'arch-failed':
      return { type: 'failed', arch: e.arch, error: e.error };
    case 'arch-canceled':
      return { type: 'canceled', arch: e.arch };
    default:
      return undefined; // submitted (we said queued), done (we say it, with the exit code)
  }
}

/** `--wait-deploy`: the per-node lines on stderr, then `deployed`; always `done` last. */
async function deployAndFinish(
  client: ApiClient,
  ref: string,
  state: string,
  opts: ProgressOptions,
  io: Io,
  build?: string,
): Promise<number> {
  const emit = emitter(io);
  const ids = build ? { build } : {};
  if (opts.waitDeploy) {
    const toStderr: Io = { ...io, out: (l) => io.err(l) };
    try {
      await waitDeploy(client, ref, opts.deployTimeoutS, toStderr);
    } catch (err) {
      const exitCode = err instanceof CliError ? err.exitCode : EXIT.FAILED;
      emit({ ...ids, type: 'done', state, exitCode, error: { message: (err as Error).message } });
      throw err;
    }
    const d = await client.get(`/v1/runtimes/${encodeURIComponent(ref)}`, RuntimeDetail);
    emit({ ...ids, type: 'deployed', ref, nodes: d.summary.nodes });
  }
  emit({ ...ids, type: 'done', state, exitCode: EXIT.OK });
  return EXIT.OK;
}
