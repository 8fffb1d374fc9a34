/**
 * An agent configured as arm64 (AGENT_ARCH=arm64) on this amd64 host, through QEMU user emulation:
 * without a binfmt_misc handler the built agent refuses to start (exit 78, what to do, no node
 * registered); with AGENT_REGISTER_BINFMT it registers the handler (F flag), registers the node
 * as arm64, installs only the arm64 runtime of those published, runs a job from `jobs-arm64`
 * whose aarch64 binary executes in the job sandbox (exit 42 from a probe ELF; `uname -m` →
 * aarch64 when the cached arm64 base root is there), and unregisters the handler at stop.
 * A real runtime built by the farm is run by test/e2e/arm64.e2e.test.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { withBinfmtHandlerDisabled } from '@joblet/sandbox/testing';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_JOB, createRedis, enqueue, jobQueueName, readAfter } from '@joblet/queue';
import {
  BINFMT_CONF_DIR,
  BINFMT_DIR,
  binfmtHandler,
  hasCommand,
  hasUnprivilegedUserns,
  hostDebArch,
  isRoot,
  probeElf,
  qemuBinfmtName,
  unregisterBinfmt,
} from '@joblet/sandbox';
import {
  FINAL_JOB_STATES,
  JobEvent,
  MOUNT_DIRS,
  NodeInfo,
  serializeRuntimeYml,
  type JobRecord,
  type RuntimeYml,
} from '@joblet/spec';
import { writeTestKeyPair } from '@joblet/testkit';
import { createAgent, type Agent } from './agent.js';
import {
  REDIS_URL,
  buildArtifact,
  makeSmallTree,
  makeWorld,
  publish,
  runtimeYmlFor,
  waitFor,
  x,
  type TreeOptions,
  type World,
} from './test-support.js';

const HANDLER = qemuBinfmtName('arm64');
const ARM64_ROOT = '/var/cache/joblet-farm/bases/bookworm-arm64/root';
const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

const MISSING = [
  hostDebArch() !== 'amd64' && `an amd64 host (this one is ${hostDebArch()})`,
  !isRoot() && 'root',
  !hasCommand('bwrap', ['--version']) && 'bwrap',
  !hasUnprivilegedUserns() && 'user namespaces',
  !existsSync('/usr/bin/qemu-aarch64-static') && 'qemu-user-static',
  !existsSync(join(BINFMT_CONF_DIR, `${HANDLER}.conf`)) && `${BINFMT_CONF_DIR}/${HANDLER}.conf`,
  !existsSync(BINFMT_DIR) && `binfmt_misc (${BINFMT_DIR})`,
].filter((m): m is string => typeof m === 'string');
if (MISSING.length > 0) console.warn(`arm64 agent tests skipped: missing ${MISSING.join(', ')}`);

/** An arm64 runtime: a small tree plus the aarch64 probe ELF (exit 42) as /usr/bin/probe. */
function makeArm64ProbeTree(dir: string, o: TreeOptions): RuntimeYml {
  const yml = makeSmallTree(dir, o);
  writeFileSync(join(dir, 'isolated/usr/bin/probe'), probeElf('arm64'), { mode: 0o755 });
  return yml;
}

/** An arm64 Debian runtime: a copy of the worker's cached arm64 base root. */
function makeArm64DebianTree(dir: string, o: TreeOptions): RuntimeYml {
  mkdirSync(dir, { recursive: true });
  x('cp', ['-a', ARM64_ROOT, join(dir, 'isolated')]);
  const present = MOUNT_DIRS.filter((d) => existsSync(join(dir, 'isolated', d)));
  const yml = runtimeYmlFor(o, present);
  writeFileSync(join(dir, 'runtime.yml'), serializeRuntimeYml(yml));
  return yml;
}

describe.skipIf(MISSING.length > 0)('an arm64 agent on an amd64 host', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld();
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('refuses to start without a usable QEMU handler: exit 78, what to do, no node registered', async () => {
    // Where the host has the handler, it is disabled for this test only (no other test of this
    // package runs arm64 code meanwhile).
    await withBinfmtHandlerDisabled(HANDLER, refusesWithoutHandler);
  });

  async function refusesWithoutHandler(): Promise<void> {
    // What ships: the bundle (built here only when missing, as agent.process.test.ts does).
    if (!existsSync(join(appDir, 'dist/index.js'))) {
      execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: appDir });
    }
    const cfg = w.config('arm-refused');
    // A valid configuration otherwise: the refusal is about the arch only.
    const keys = writeTestKeyPair(w.dir('keys'));
    const child = spawn(process.execPath, [join(appDir, 'dist/index.js')], {
      env: {
        PATH: process.env.PATH,
        AGENT_NAME: 'arm-refused',
        AGENT_ARCH: 'arm64',
        REDIS_URL,
        QUEUE_PREFIX: w.prefix,
        STORAGE_URL: w.storeUrl,
        RUNTIMES_DIR: cfg.runtimesDir,
        AGENT_WORK_DIR: cfg.workDir,
        AGENT_TRUSTED_KEYS: keys.publicKeyFile,
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(78);
    expect(stderr).toContain('this agent (AGENT_ARCH=arm64) cannot execute arm64 binaries');
    expect(stderr).toMatch(
      /binfmt_misc is not mounted|no binfmt_misc handler qemu-aarch64|handler qemu-aarch64 is disabled/,
    );
    expect(stderr).toContain('apt-get install qemu-user-static');
    expect(stderr).toContain('AGENT_REGISTER_BINFMT=true');
    expect(await w.redis.exists(w.keys.node('arm-refused'))).toBe(0);
    expect(await w.redis.sismember(w.keys.nodes, 'arm-refused')).toBe(0);
    // The refused agent registered (or enabled) nothing.
    expect(binfmtHandler(HANDLER)?.enabled ?? false).toBe(false);
  }

  describe('with AGENT_REGISTER_BINFMT', () => {
    let agent: Agent;
    let before: boolean;
    let queue: Queue;
    const queueConnection = createRedis({ url: REDIS_URL });

    beforeAll(async () => {
      before = binfmtHandler(HANDLER) !== undefined;
      // Published before the agent starts: its first reconcile sees both.
      const arm = await buildArtifact(
        w.dir('art'),
        { name: 'probe', version: '1.0.0', arch: 'arm64' },
        makeArm64ProbeTree,
      );
      await publish(w.store, w.redis, w.keys, arm, {
        name: 'probe',
        version: '1.0.0',
        arch: 'arm64',
      });
      const amd = await buildArtifact(w.dir('art'), { name: 'amdonly', version: '1.0.0' });
      await publish(w.store, w.redis, w.keys, amd, { name: 'amdonly', version: '1.0.0' });
      if (existsSync(ARM64_ROOT)) {
        const deb = await buildArtifact(
          w.dir('art'),
          { name: 'debarm', version: '1.0.0', arch: 'arm64' },
          makeArm64DebianTree,
        );
        await publish(w.store, w.redis, w.keys, deb, {
          name: 'debarm',
          version: '1.0.0',
          arch: 'arm64',
        });
      }
      agent = createAgent(w.config('arm', { arch: 'arm64', registerBinfmt: true }));
      await agent.start();
      queue = new Queue(jobQueueName('arm64'), { connection: queueConnection, prefix: w.prefix });
    }, 120_000);
    afterAll(async () => {
      await agent?.stop(5_000);
      await queue?.close();
      await queueConnection.quit();
      // Only what the agent registered itself is removed at its stop.
      expect(binfmtHandler(HANDLER) !== undefined).toBe(before);
      if (!before && binfmtHandler(HANDLER)) await unregisterBinfmt(HANDLER);
    });

    /** Submits like the API: record, env/uploads beside it, `run-job` on `jobs-arm64`. */
    const run = async (runtime: string, command: string, args: string[] = []) => {
      const id = randomUUID();
      const record: JobRecord = {
        id,
        state: 'QUEUED',
        command,
        args,
        runtime: { ref: `${runtime}@1.0.0`, name: runtime, version: '1.0.0' },
        arch: 'arm64',
        network: 'none',
        limits: {},
        volumes: [],
        env: [],
        uploads: [],
        createdAt: new Date().toISOString(),
      };
      await w.redis.set(w.keys.jobUploads(id), JSON.stringify({ env: {}, uploads: [] }), 'EX', 600);
      await agent.jobs!.store.create(record);
      await enqueue(queue, RUN_JOB, { jobId: id });
      const end = await waitFor(
        async () => {
          const r = await agent.jobs!.store.get(id);
          return r && FINAL_JOB_STATES.includes(r.state) ? r : undefined;
        },
        `job ${id} to end`,
        60_000,
      );
      const events = await readAfter(w.redis, w.keys.jobEvents(id), JobEvent, '0', 1000);
      const stdout = events.flatMap(({ event: e }) =>
        e.type === 'out' && e.stream === 'stdout' ? [e.line] : [],
      );
      return { end, stdout };
    };

    it('registered the F-flag handler and the node as arm64', async () => {
      expect(binfmtHandler(HANDLER)).toMatchObject({ enabled: true });
      expect(binfmtHandler(HANDLER)?.flags).toContain('F');
      const info = NodeInfo.parse(JSON.parse((await w.redis.get(w.keys.node('arm')))!));
      expect(info.arch).toBe('arm64');
    });

    it('installs the arm64 runtimes only', async () => {
      await waitFor(
        () => existsSync(join(agent.config.runtimesDir, 'probe/1.0.0/runtime.yml')),
        'probe installed',
        60_000,
      );
      await agent.sync.reconcile();
      expect(existsSync(join(agent.config.runtimesDir, 'amdonly'))).toBe(false);
      const status = await w.redis.hkeys(w.keys.nodeRuntimes('arm'));
      expect(status).not.toContain('amdonly@1.0.0');
      expect(status).toContain('probe@1.0.0');
    });

    it('runs an aarch64 binary of a job from jobs-arm64 in the job sandbox', async () => {
      const { end } = await run('probe', '/usr/bin/probe');
      expect(end).toMatchObject({ state: 'FAILED', exitCode: 42, node: 'arm' });
    });

    it.skipIf(!existsSync(ARM64_ROOT))('prints aarch64 from uname -m', async () => {
      await waitFor(
        () => existsSync(join(agent.config.runtimesDir, 'debarm/1.0.0/runtime.yml')),
        'debarm installed',
        60_000,
      );
      const { end, stdout } = await run('debarm', 'uname', ['-m']);
      expect(end, JSON.stringify(stdout)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(stdout).toEqual(['aarch64']);
    });
  });
});
