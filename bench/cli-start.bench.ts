/**
 * Issue 15's CLI figures: how long `rnx` takes as a user runs it (the built binary, a process of
 * its own each time), against floors measured in the same run, interleaved with them so that
 * the shared machine's load falls on both alike.
 *
 * - `version`, `validate` (offline, examples/python-3.11) and `jobList` (against the farm) vs
 *   `node -e 0`: target ≤ 1.5×.
 * - `jobRun`: `rnx job run --runtime=R python3 -c 'import sys'` end to end vs (node -e 0 +
 *   `apiSubmitToEnd`: the same job submitted by a plain HTTP client, POST then the log stream
 *   read to its `end` event): target ≤ 1.5×.
 *
 * The farm is started as `rnx farm up` starts it (API, worker and agent as their own processes,
 * auth on, the admin token in `$HOME/.rnx/rnx-config.yml`), in a temp state dir with its own
 * queue prefix; the runtime R (python 3.11, nothing else) is built and deployed by the farm first.
 * BENCH_CLI_RUNS: runs of each (default 200).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, makeTempDir, uniqueName } from '@joblet/testkit';
import { percentiles, round } from './stats.js';

const exec = promisify(execFile);
const RNX = fileURLToPath(new URL('../apps/cli/bin/rnx.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../examples/python-3.11/runtime.yaml', import.meta.url));
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 200);
const RUNTIME = 'bench-cli-python';
const SPEC = `schema_version: "1.0"
name: ${RUNTIME}
version: 1.0.0
description: the CLI benchmark's runtime
base:
  language: python
  version: "3.11"
`;

/** Wall milliseconds of one process, from spawn to exit; fails on a non-zero exit. */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t = process.hrtime.bigint();
  await exec(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Submit → the log stream's `end` event, through the API over plain HTTP with the token. */
async function apiSubmitToEnd(url: string, token: string): Promise<number> {
  const t = process.hrtime.bigint();
  const auth = { authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ runtime: RUNTIME, command: 'python3', args: ['-c', 'import sys'] }),
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const logs = await fetch(`${url}/v1/jobs/${id}/logs`, {
    headers: { accept: 'text/event-stream', ...auth },
  });
  const text = logs.body!.pipeThrough(new TextDecoderStream());
  let buf = '';
  for await (const chunk of text) {
    buf += chunk;
    const end = /data: *(\{"type":"end".*)/.exec(buf);
    if (end) {
      const e = JSON.parse(end[1]!) as { state: string; exitCode?: number };
      if (e.exitCode !== 0) throw new Error(`the job ended ${e.state} (${e.exitCode})`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    }
  }
  throw new Error(`the log stream of ${id} ended before the job did`);
}

function figure(samples: number[], floorP50: number, floorP99: number) {
  const p = percentiles(samples);
  return {
    ...p,
    ratioP50: round(p.p50 / floorP50),
    ratioP99: round(p.p99 / floorP99),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const tmp = await makeTempDir('bench-cli-');
  // Sandboxes run as nobody: the runtimes dir must be reachable (as /opt/joblet/runtimes is).
  await chmod(tmp.path, 0o755);
  const dir = join(tmp.path, 'farm');
  const runtimesDir = join(tmp.path, 'runtimes');
  await mkdir(runtimesDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tmp.path,
    NO_COLOR: '1',
    RNX_SERVER: url,
    JOBLET_FARM_DIR: dir,
  };
  const rnx = (args: string[], timeout = 900_000) =>
    exec(process.execPath, [RNX, ...args], { env, timeout, maxBuffer: 64 * 1024 * 1024 });
  const prefix = uniqueName('bench-cli');
  const farmFlags = {
    dir,
    port,
    prefix,
    'runtimes-dir': runtimesDir,
    'node-name': `bench-${prefix
      .slice(-8)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')}`,
    timeout: 120,
  };
  await rnx(['farm', 'up', ...Object.entries(farmFlags).flatMap(([k, v]) => [`--${k}`, `${v}`])]);
  try {
    const spec = join(tmp.path, 'runtime.yaml');
    await writeFile(spec, SPEC);
    await rnx(['runtime', 'build', '--wait-deploy', spec]);
    const config = await readFile(join(tmp.path, '.rnx', 'rnx-config.yml'), 'utf8');
    const token = /token: *"?(jrf_[^\s"]+)/.exec(config)?.[1];
    if (!token) throw new Error('rnx farm up saved no token in the rnx config');

    const node = process.execPath;
    const cases = {
      nodeFloor: () => timed(node, ['-e', '0'], env),
      version: () => timed(node, [RNX, '--version'], env),
      validate: () => timed(node, [RNX, 'runtime', 'validate', '--offline', EXAMPLE], env),
      jobList: () => timed(node, [RNX, 'job', 'list'], env),
      apiSubmitToEnd: () => apiSubmitToEnd(url, token),
      jobRun: () =>
        timed(
          node,
          [RNX, 'job', 'run', `--runtime=${RUNTIME}`, 'python3', '-c', 'import sys'],
          env,
        ),
    };
    const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, [] as number[]]));
    // Two untimed rounds first (page cache, the agent's first job), then RUNS rounds, each case
    // once per round, in a fixed order.
    for (let i = 0; i < RUNS + 2; i++) {
      for (const [name, fn] of Object.entries(cases)) {
        const ms = await fn();
        if (i >= 2) samples[name]!.push(ms);
      }
    }
    const floor = percentiles(samples.nodeFloor!);
    const api = percentiles(samples.apiSubmitToEnd!);
    return {
      runs: RUNS,
      nodeFloor: floor,
      version: figure(samples.version!, floor.p50, floor.p99),
      validate: figure(samples.validate!, floor.p50, floor.p99),
      jobList: figure(samples.jobList!, floor.p50, floor.p99),
      apiSubmitToEnd: api,
      jobRun: figure(samples.jobRun!, floor.p50 + api.p50, floor.p99 + api.p99),
      targets: 'every ratio ≤ 1.5 (jobRun against nodeFloor + apiSubmitToEnd)',
    };
  } finally {
    await rnx(['farm', 'down', '--dir', dir], 120_000).catch(() => undefined);
    await tmp.cleanup();
  }
}
