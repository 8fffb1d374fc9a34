/**
 * Jobs as users get them (issue 15): the farm started by `rnx farm up` (API with token auth,
 * worker and agent as processes of their own, the farm's default settings), a Python runtime
 * built by the farm from a spec, jobs submitted over the API's HTTP with the admin token.
 *
 * (a) Job start: submit → first output line of `python3 -c 'print(1)'` (POST /v1/jobs, then
 *     the SSE log stream until the first `out` event), n = BENCH_JOBS_N (default 200) sequential
 *     jobs after 10 untimed ones; the floor is the same command under a bare `bwrap` with the
 *     runtime's mounts (jobs-support.ts), sampled alternately with the jobs in the same run.
 *     Targets: p50 ≤ 1.5× and p99 ≤ 3× the floor's.
 * (b) Throughput: BENCH_JOBS_BURST (default 300) `echo ok` jobs submitted at once (32 requests in
 *     flight) until every one ended (the last record's finishedAt; a 429 of the API's rate limit
 *     is waited out and counted), each checked COMPLETED with exit code 0 and its one output
 *     line recorded; the floor is the same command under bare bwrap, as many at once as the node
 *     has cores. Target ≥ 0.7× the floor's jobs/s. The agent's CPU time per job comes from
 *     /proc/<agent pid>/stat over the burst.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { JobRecord } from '@joblet/spec';
import { farmUp, firstLine, getJob, rateLimited, submit, type BenchFarm } from './farm-client.js';
import { bareBwrap, cpuMsOf, pool, type Floor } from './jobs-support.js';
import { percentiles, round } from './stats.js';

const N = Number(process.env.BENCH_JOBS_N ?? 200);
const BURST = Number(process.env.BENCH_JOBS_BURST ?? 300);
const WARMUP = 10;
const RUNTIME = { name: 'bench-py', version: '1.0.0' };
const SPEC = `schema_version: "1.0"
name: ${RUNTIME.name}
version: ${RUNTIME.version}
description: Python for the jobs benchmark
base:
  language: python
  version: "3.11"
`;
const FINAL = new Set(['COMPLETED', 'FAILED', 'STOPPED', 'CANCELED']);
const PRINT1 = { command: 'python3', args: ['-c', 'print(1)'] };
const ECHO = { command: 'echo', args: ['ok'] };

async function waitEnded(farm: BenchFarm, id: string): Promise<JobRecord> {
  for (;;) {
    const r = await getJob(farm, id);
    if (FINAL.has(r.state)) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** (a) submit → first line through the API, alternated with the floor. */
async function jobStart(farm: BenchFarm, floor: Floor): Promise<Record<string, unknown>> {
  const api: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < N + WARMUP; i++) {
    const f = await floor.firstLine(PRINT1.command, PRINT1.args);
    const t = performance.now();
    const job = await submit(farm, { runtime: `${RUNTIME.name}@${RUNTIME.version}`, ...PRINT1 });
    const line = await firstLine(farm, job.id);
    const ms = performance.now() - t;
    if (line !== '1') throw new Error(`job ${job.id} printed ${JSON.stringify(line)}`);
    if (i >= WARMUP) {
      api.push(ms);
      bare.push(f);
    }
  }
  const a = percentiles(api);
  const b = percentiles(bare);
  return {
    what: "submit → first output line of python3 -c 'print(1)', ms",
    api: a,
    floorBareBwrap: b,
    ratioP50: round(a.p50 / b.p50),
    ratioP99: round(a.p99 / b.p99),
    targets: { ratioP50: 1.5, ratioP99: 3 },
  };
}

/** (b) a burst of short jobs through the API, and the floor's jobs/s. */
async function throughput(farm: BenchFarm, floor: Floor): Promise<Record<string, unknown>> {
  const cores = availableParallelism();
  const t = performance.now();
  await pool(Array.from({ length: BURST }), cores, () => floor.run(ECHO.command, ECHO.args));
  const floorPerS = (BURST / (performance.now() - t)) * 1000;

  const agentPid = await farm.pidOf('agent');
  const cpu0 = await cpuMsOf(agentPid);
  const ids: string[] = [];
  const limited0 = rateLimited.count;
  const t0 = Date.now();
  await pool(Array.from({ length: BURST }), 32, async () => {
    const job = await submit(farm, { runtime: `${RUNTIME.name}@${RUNTIME.version}`, ...ECHO });
    ids.push(job.id);
  });
  const submittedMs = Date.now() - t0;
  const records: JobRecord[] = [];
  for (const id of ids) records.push(await waitEnded(farm, id));
  // Until the last job's end as its record says (same host clock): how soon the bench's polling
  // (slowed by the API's rate limit) sees the ends does not count.
  const ms = Math.max(...records.map((r) => Date.parse(r.finishedAt ?? ''))) - t0;
  const agentCpuMs = (await cpuMsOf(agentPid)) - cpu0;
  const ok = records.filter(
    (r) => r.state === 'COMPLETED' && r.exitCode === 0 && r.output?.lines === 1,
  ).length;
  const apiPerS = (BURST / ms) * 1000;
  return {
    what: `${BURST} \`echo ok\` jobs submitted at once, jobs/s`,
    jobs: BURST,
    recordedCompletedExit0OneLine: `${ok}/${BURST}`,
    apiJobsPerS: round(apiPerS),
    submitMs: round(submittedMs),
    rateLimited429: rateLimited.count - limited0,
    floorBareBwrapJobsPerS: round(floorPerS),
    floorParallelism: cores,
    ratio: round(apiPerS / floorPerS),
    target: { ratio: 0.7 },
    agentCpuMsPerJob: round(agentCpuMs / BURST),
  };
}

/**
 * Median milliseconds of each of the agent's job phases (JobExecution's marks), from its log;
 * only present when the farm runs with LOG_LEVEL=debug (BENCH_JOBS_LOG_LEVEL=debug).
 */
async function agentPhases(farm: BenchFarm): Promise<Record<string, number> | undefined> {
  const log = await readFile(join(farm.dir, 'logs', 'agent.log'), 'utf8').catch(() => '');
  const byPhase = new Map<string, number[]>();
  for (const line of log.split('\n')) {
    if (!line.includes('"phasesMs"')) continue;
    const phases = (JSON.parse(line) as { phasesMs: Record<string, number> }).phasesMs;
    for (const [k, v] of Object.entries(phases)) byPhase.set(k, [...(byPhase.get(k) ?? []), v]);
  }
  if (byPhase.size === 0) return undefined;
  return Object.fromEntries([...byPhase].map(([k, v]) => [k, percentiles(v).p50]));
}

export async function run(): Promise<Record<string, unknown>> {
  const level = process.env.BENCH_JOBS_LOG_LEVEL;
  const farm = await farmUp(level ? { LOG_LEVEL: level } : {});
  let floor: Floor | undefined;
  try {
    const spec = join(farm.tmp.path, 'runtime.yaml');
    await writeFile(spec, SPEC);
    const t = performance.now();
    await farm.rnx(['runtime', 'build', '--wait-deploy', spec], 1_200_000);
    const buildS = (performance.now() - t) / 1000;
    floor = await bareBwrap(join(farm.runtimesDir, RUNTIME.name, RUNTIME.version), farm.tmp.path);
    const start = await jobStart(farm, floor);
    const phases = await agentPhases(farm);
    return {
      setup: {
        farm: 'rnx farm up (API token auth, worker and agent as processes, default settings)',
        runtime: `${RUNTIME.name}@${RUNTIME.version} built by the farm in ${round(buildS)} s`,
      },
      jobStart: { ...start, ...(phases && { agentPhasesP50Ms: phases }) },
      throughput: await throughput(farm, floor),
    };
  } finally {
    await floor?.close();
    await farm.down();
  }
}
