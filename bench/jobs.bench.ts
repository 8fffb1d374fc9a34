/**
 * Jobs, through everything a user's job goes through: the API (in-process, listening on
 * 127.0.0.1), BullMQ on local Redis, an agent (in-process, `createAgent`) with a real Debian
 * runtime installed by its RuntimeSync, bubblewrap and cgroups.
 *
 * (a) submit → first output line, as a client of the API sees it: POST /v1/jobs, then the SSE
 *     log stream until the first `out` event (~100 sequential jobs). Targets p50 < 60 ms,
 *     p99 < 200 ms.
 * (b) sandbox overhead: `/bin/true` as a bare child process vs in the job sandbox (no queue):
 *     bwrap alone, and bwrap inside a fresh cgroup (create + join + destroy). Target < 10 ms.
 * (c) short jobs per second on one node (capacity 32): `true` jobs submitted through the API
 *     with 32 requests in flight, and the same queued directly (the node alone); with the agent
 *     in this process, and as a process of its own (`node dist/index.js` with the flags of
 *     `npm start`), as in production. Target > 100/s.
 * (d) the guide's comparison, offline: the same Python-with-packages job (import numpy and use
 *     it) done the "traditional" way — a plain Python runtime, the package's wheel uploaded with
 *     the job and `pip install`ed inside it — vs `--runtime` with numpy preinstalled. PyPI is not
 *     reachable here, so the traditional side installs from a local wheel (no download, no
 *     build): a lower bound of what it costs with a network. Uses /opt/pypi-more's numpy wheel
 *     when present, else the setuptools wheel Debian ships.
 */

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import {
  buildArtifact,
  BwrapJobSandbox,
  createAgent,
  createJobDir,
  DEBIAN_ROOT,
  makeDebianTree,
  makeWorld,
  publish,
  removeJobDir,
  RuntimeMounts,
  waitFor,
  x,
  type Agent,
  type World,
} from '@joblet/agent/testing';
import { startTestApi, type TestApi } from '@joblet/api/testing';
import { JobStore, Keys, RUN_JOB, createRedis, jobFor, jobQueueName } from '@joblet/queue';
import { CgroupManager } from '@joblet/sandbox';
import { type JobRequest } from '@joblet/spec';
import { percentiles, round } from './stats.js';
import {
  CAPACITY,
  post,
  follow,
  waitFinal,
  pool,
  spawnWait,
  makePythonTree,
  pickWheel,
  runToEnd,
  startAgentProcess,
} from './jobs-support.js';

const N = 400;

/**
 * `true` jobs: N through the API (CAPACITY requests in flight) until all ended, then N queued
 * directly (records + addBulk, as the API writes them): the node alone.
 */
async function throughput(api: TestApi, store: JobStore): Promise<Record<string, unknown>> {
  const trueJob: JobRequest = { runtime: 'bench-sh@1.0.0', command: 'true' };
  let t0 = performance.now();
  const viaApi: string[] = [];
  await pool(Array.from({ length: N }), CAPACITY, async () => {
    viaApi.push((await post(api, trueJob)).id);
  });
  const submittedMs = performance.now() - t0;
  await waitFinal(store, viaApi);
  const apiMs = performance.now() - t0;
  const template = (await store.get(viaApi[0]!))!;
  const queueConnection = createRedis({ url: 'redis://127.0.0.1:6379' });
  const queue = new Queue(jobQueueName('amd64'), {
    connection: queueConnection,
    prefix: api.prefix,
  });
  const direct: string[] = [];
  for (let i = 0; i < N; i++) {
    const id = randomUUID();
    direct.push(id);
    const {
      startedAt: _s,
      finishedAt: _f,
      exitCode: _e,
      usage: _u,
      output: _o,
      node: _n,
      startLatencyMs: _l,
      ...rest
    } = template;
    await store.create({ ...rest, id, state: 'QUEUED', createdAt: new Date().toISOString() });
  }
  t0 = performance.now();
  await queue.addBulk(direct.map((id) => jobFor(RUN_JOB, { jobId: id })));
  await waitFinal(store, direct);
  const directMs = performance.now() - t0;
  await queue.close();
  await queueConnection.quit();
  const completed = (await Promise.all([...viaApi, ...direct].map((id) => store.get(id)))).filter(
    (r) => r?.state === 'COMPLETED',
  ).length;

  return {
    jobs: N,
    capacity: CAPACITY,
    viaApiJobsPerSecond: round((N / apiMs) * 1000),
    viaApiSubmitMs: round(submittedMs),
    directQueueJobsPerSecond: round((N / directMs) * 1000),
    completed: `${completed}/${2 * N}`,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  if (!existsSync(DEBIAN_ROOT)) return { skipped: `no cached bookworm root at ${DEBIAN_ROOT}` };
  const api = await startTestApi(['amd64'], { listen: true });
  const w: World = await makeWorld({ storeUrl: api.store.url });
  const keys = new Keys(api.prefix);
  const store = new JobStore(api.redis, keys);
  let agent: Agent | undefined;
  const cgroups = await CgroupManager.detect({ namespace: `bench-jobs-${process.pid}` });
  try {
    const wheel = pickWheel();
    const plain = await buildArtifact(
      w.dir('art'),
      { name: 'py-plain', version: '1.0.0' },
      makePythonTree,
    );
    const withPkg = await buildArtifact(
      w.dir('art'),
      { name: 'py-pkgs', version: '1.0.0' },
      (dir, o) => {
        const yml = makePythonTree(dir, o);
        x('/usr/bin/python3', [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--no-index',
          '--no-deps',
          '--no-cache-dir',
          '--disable-pip-version-check',
          '--target',
          join(dir, 'isolated/usr/lib/python3/dist-packages'),
          wheel.file,
        ]);
        return yml;
      },
    );
    const small = await buildArtifact(
      w.dir('art'),
      { name: 'bench-sh', version: '1.0.0' },
      makeDebianTree,
    );
    for (const [p, name] of [
      [small, 'bench-sh'],
      [plain, 'py-plain'],
      [withPkg, 'py-pkgs'],
    ] as const) {
      await publish(api.store, api.redis, keys, p, { name, version: '1.0.0' });
    }
    agent = createAgent(
      w.config('bench-node', {
        queuePrefix: api.prefix,
        storageUrl: api.store.url,
        capacity: CAPACITY,
        heartbeatIntervalMs: 1000,
      }),
    );
    await agent.start();
    for (const name of ['bench-sh', 'py-plain', 'py-pkgs']) {
      await waitFor(
        async () => (await agent!.sync.layout.isInstalled(name, '1.0.0')) || undefined,
        `${name} installed`,
        120_000,
      );
    }

    // (a) submit → first output line, sequential, after a short warm-up.
    const echo: JobRequest = { runtime: 'bench-sh@1.0.0', command: 'echo', args: ['hello'] };
    const firstLine: number[] = [];
    const latency: number[] = [];
    for (let i = 0; i < 110; i++) {
      const t = performance.now();
      const job = await post(api, echo);
      await follow(api, job.id, (e) => e.type === 'out');
      if (i >= 10) firstLine.push(performance.now() - t);
      if (i >= 10) latency.push((await store.get(job.id))?.startLatencyMs ?? NaN);
    }

    // (b) sandbox overhead over a bare process.
    const runtimeDir = agent.sync.layout.versionDir('bench-sh', '1.0.0');
    const mounts = new RuntimeMounts();
    const sandbox = new BwrapJobSandbox({ mounts });
    const { yml } = await mounts.get(runtimeDir);
    const workRoot = w.dir('sbx');
    const bare: number[] = [];
    const inSandbox: number[] = [];
    const inCgroup: number[] = [];
    for (let i = 0; i < 220; i++) {
      let t = performance.now();
      await spawnWait('/bin/true', []);
      if (i >= 20) bare.push(performance.now() - t);
      const dir = await createJobDir(workRoot, randomUUID());
      const req = {
        runtimeDir,
        runtimeYml: yml,
        workDir: dir.work,
        command: '/bin/true',
        args: [],
        env: {},
        network: 'none' as const,
        hostname: 'job-bench',
        binds: [],
      };
      t = performance.now();
      await (
        await sandbox.start(req)
      ).exited;
      if (i >= 20) inSandbox.push(performance.now() - t);
      t = performance.now();
      const cg = await cgroups.create(`job-${randomUUID()}`, { pidsMax: 4096 });
      await (
        await sandbox.start({ ...req, cgroup: cg })
      ).exited;
      await cg.destroy();
      if (i >= 20) inCgroup.push(performance.now() - t);
      await removeJobDir(dir);
    }
    const pb = percentiles(bare);
    const ps = percentiles(inSandbox);
    const pc = percentiles(inCgroup);

    // (c) short jobs per second on one node: this in-process agent first (it shares the process
    // with the API and the benchmark: each fork costs ~2 ms per 100 MB of RSS), then the agent as
    // it runs in production, a process of its own (`npm start`).
    const inProcess = await throughput(api, store);

    // (d) traditional vs --runtime.
    const content = readFileSync(wheel.file).toString('base64');
    const wheelName = wheel.file.split('/').at(-1)!;
    const traditional: number[] = [];
    const withRuntime: number[] = [];
    let sampleOut = '';
    for (let i = 0; i < 3; i++) {
      const t = await runToEnd(api, store, {
        runtime: 'py-plain@1.0.0',
        command: 'sh',
        args: [
          '-c',
          `python3 -m pip install --quiet --no-index --no-deps --no-cache-dir --disable-pip-version-check --target /work/site /work/${wheelName} && PYTHONPATH=/work/site python3 -c '${wheel.script}'`,
        ],
        uploads: [{ path: wheelName, content, mode: 0o644 }],
      });
      traditional.push(t.ms);
      const r = await runToEnd(api, store, {
        runtime: 'py-pkgs@1.0.0',
        command: 'python3',
        args: ['-c', wheel.script],
      });
      withRuntime.push(r.ms);
      sampleOut = `${t.rec.output?.lines} / ${r.rec.output?.lines} lines`;
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

    await agent.stop(10_000);
    agent = undefined;
    const child = startAgentProcess(w, api.prefix, api.store.url);
    let separate: Awaited<ReturnType<typeof throughput>> | undefined;
    try {
      await waitFor(
        async () => {
          const raw = await api.redis.hget(keys.nodeRuntimes('bench-proc'), 'bench-sh@1.0.0');
          return raw?.includes('"installed"') || undefined;
        },
        'bench-sh installed on the agent process',
        120_000,
      );
      separate = await throughput(api, store);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }

    return {
      targets: {
        firstLineP50Ms: 60,
        firstLineP99Ms: 200,
        sandboxOverheadMs: 10,
        jobsPerSecond: 100,
      },
      submitToFirstLineMs: percentiles(firstLine),
      recordedStartLatencyMs: percentiles(latency),
      sandboxOverhead: {
        bareTrueMs: pb,
        bwrapTrueMs: ps,
        bwrapInCgroupTrueMs: pc,
        overheadP50Ms: round(ps.p50 - pb.p50),
        overheadWithCgroupP50Ms: round(pc.p50 - pb.p50),
      },
      throughput: { agentProcess: separate, agentInBenchProcess: inProcess },
      traditionalVsRuntime: {
        package: wheel.module,
        wheel: wheelName,
        wheelBytes: Buffer.byteLength(content, 'base64'),
        traditionalMs: round(med(traditional)),
        runtimeMs: round(med(withRuntime)),
        ratio: round(med(traditional) / med(withRuntime)),
        note:
          'submit → end through the API; traditional = pip install from an uploaded local wheel ' +
          '(no download, no compile: a lower bound), runtime = package preinstalled; ' +
          sampleOut,
      },
    };
  } finally {
    await agent?.stop(10_000);
    await cgroups.removeNamespace();
    await w.cleanup().catch(() => undefined);
    await api.close();
  }
}
