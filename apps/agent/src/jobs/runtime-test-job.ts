// `rnx runtime test` through the job path: the runtime's version command (`versionCommand`:
// `python3 --version`, `java -version`, ...) runs as a real job on this node —
// a job record (listed by `rnx job list`, its output kept like any job's), the job sandbox, a
// cgroup, a timeout — and the answer is the shape the API expects of a runtime test.
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { readAfter, type JobStore, type Keys, type RedisClient } from '@joblet/queue';
import {
  JobEvent,
  LANGUAGE_DEFAULTS,
  builtinCatalog,
  findCatalogEntry,
  type Arch,
  type BaseCatalog,
  type JobRecord,
  type RuntimeYml,
} from '@joblet/spec';
import { isRuntimeId, type RuntimeLayout } from '../runtimes/layout.js';
import { loadRuntimeYml } from '../runtimes/runtime-files.js';

/** What `rnx runtime test` shows (the node-queue job's return value). */
export interface RuntimeTestJobResult {
  /** argv run inside the job's sandbox. */
  command: string[];
  /** The job's exit code (1 when it failed without one). */
  exitCode: number;
  /** stdout and stderr lines in the order they came (capped). */
  output: string;
  durationMs: number;
  /** The node that ran the test. */
  node: string;
}

/** The command that proves a runtime works: the catalog's, else the language default. */
export function versionCommand(yml: RuntimeYml, catalog: BaseCatalog = builtinCatalog): string[] {
  const entry =
    findCatalogEntry(catalog, yml.language, yml.language_version) ??
    LANGUAGE_DEFAULTS[yml.language];
  return [entry.binary, ...entry.versionArgs];
}

/** Output kept in the answer (bytes); the job's stream has all of it. */
const MAX_OUTPUT_BYTES = 64 * 1024;
/** A JVM on a loaded node included. */
export const RUNTIME_TEST_TIMEOUT_S = 60;

export interface RuntimeTestDeps {
  node: string;
  arch: Arch;
  store: JobStore;
  redis: RedisClient;
  keys: Keys;
  layout: RuntimeLayout;
  /** Runs a recorded job here, to its end. */
  runJob(jobId: string): Promise<unknown>;
}

export async function runtimeTestAsJob(
  d: RuntimeTestDeps,
  name: string,
  version: string,
): Promise<RuntimeTestJobResult> {
  if (!isRuntimeId(name, version)) {
    throw new UnrecoverableError(`INVALID_ARGUMENT: invalid runtime ${name}@${version}`);
  }
  // The API sends tests only to nodes that report the runtime installed: no install on demand.
  if (!(await d.layout.isInstalled(name, version))) {
    throw new UnrecoverableError(
      `RUNTIME_NOT_INSTALLED: runtime ${name}@${version} is not installed on this node`,
    );
  }
  const yml = await loadRuntimeYml(d.layout.versionDir(name, version));
  const [command, ...args] = versionCommand(yml);
  const id = randomUUID();
  const record: JobRecord = {
    id,
    state: 'QUEUED',
    command: command!,
    args,
    runtime: { ref: `${name}@${version}`, name, version },
    arch: d.arch,
    pinnedNode: d.node,
    network: 'none',
    limits: { timeoutS: RUNTIME_TEST_TIMEOUT_S },
    volumes: [],
    env: [],
    uploads: [],
    createdAt: new Date().toISOString(),
  };
  await d.store.create(record);
  const started = Date.now();
  await d.runJob(id);
  const done = await d.store.get(id);
  if (!done || done.state === 'QUEUED' || done.state === 'INITIALIZING') {
    throw new Error(`runtime test job ${id} did not run`);
  }
  if (done.reason === 'runtime-missing' || done.reason === 'start-failed') {
    throw new UnrecoverableError(`${done.reason}: ${done.message ?? ''} (job ${id})`);
  }
  const lines: string[] = [];
  let kept = 0;
  let after = '0';
  for (;;) {
    const batch = await readAfter(d.redis, d.keys.jobEvents(id), JobEvent, after, 1000);
    if (batch.length === 0) break;
    after = batch.at(-1)!.id;
    for (const { event } of batch) {
      if (event.type !== 'out' || kept > MAX_OUTPUT_BYTES) continue;
      kept += event.line.length + 1;
      lines.push(event.line);
    }
  }
  if (done.reason === 'timeout') lines.push(`(timed out after ${RUNTIME_TEST_TIMEOUT_S} s)`);
  return {
    command: [command!, ...args],
    exitCode: done.exitCode ?? (done.state === 'COMPLETED' ? 0 : 1),
    output: lines.join('\n'),
    durationMs: Date.now() - started,
    node: d.node,
  };
}
