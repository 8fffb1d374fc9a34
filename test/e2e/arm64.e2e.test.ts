/**
 * arm64 on this amd64 host, end to end through the real `rnx` binary (issues 6 and 17): the farm
 * started as a CI author starts it, `rnx farm up --arch amd64,arm64` (a worker and a node per
 * arch, the arm64 ones under QEMU user emulation, the handler registered by the farm when missing
 * and removed again by `farm down`); one build of a small python runtime for [amd64, arm64] (the
 * only emulated build of the test run); each node installs exactly its own arch (ELF headers of
 * the installed python read back); jobs routed by arch: pinned to the arm64 node `uname -m`
 * prints aarch64, pinned to the amd64 node x86_64, a runtime built only for amd64 cannot be
 * pinned to the arm64 node, and an unpinned job goes to the arm64 node once no amd64 node is
 * online.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BINFMT_CONF_DIR,
  BINFMT_DIR,
  ELF_MACHINE,
  binfmtHandler,
  hasCommand,
  hostDebArch,
  isRoot,
  qemuBinfmtName,
  readElfMachine,
  unregisterBinfmt,
} from '@joblet/sandbox';
import { treeHash } from '@joblet/artifact';
import { NodeView, RuntimeIndexEntry, parseRuntimeYml, type Arch } from '@joblet/spec';
import { createArtifactStore, indexKey } from '@joblet/storage';
import { startFarm, type Farm, type RnxResult } from './farm-fixture.js';

const HANDLER = qemuBinfmtName('arm64');
const dist = (app: string) => new URL(`../../apps/${app}/dist/index.js`, import.meta.url).pathname;

/** What this host lacks for the test (it skips, naming it). */
const MISSING = [
  hostDebArch() !== 'amd64' && `an amd64 host (this one is ${hostDebArch()})`,
  !isRoot() && 'root',
  !hasCommand('bwrap', ['--version']) && 'bwrap',
  !hasCommand('redis-cli', ['ping']) && 'redis on 127.0.0.1:6379',
  !existsSync('/usr/bin/qemu-aarch64-static') && 'qemu-user-static',
  !existsSync(join(BINFMT_CONF_DIR, `${HANDLER}.conf`)) && `${BINFMT_CONF_DIR}/${HANDLER}.conf`,
  !existsSync(BINFMT_DIR) && `binfmt_misc (${BINFMT_DIR})`,
  ...['api', 'worker', 'agent', 'cli'].map(
    (a) => !existsSync(dist(a)) && `${dist(a)} (npm run build)`,
  ),
].filter((m): m is string => typeof m === 'string');
if (MISSING.length > 0) console.warn(`arm64 e2e skipped: missing ${MISSING.join(', ')}`);

const NAME = 'e2e-py-multiarch';
const AMD_ONLY = 'e2e-py-amd64only';
const spec = (name: string) => `schema_version: "1.0"
name: ${name}
version: 1.0.0
description: arm64 end-to-end test runtime
base:
  language: python
  version: "3.11"
apt:
  - python3-six
`;
/** The whole emulated build plus deploys, on a loaded 2-core machine. */
const BUILD_TIMEOUT_MS = 40 * 60_000;
const ARCHES: Arch[] = ['amd64', 'arm64'];

describe.skipIf(MISSING.length > 0)('arm64 on an amd64 host, end to end', () => {
  let farm: Farm;
  /** Whether the QEMU handler was registered before the farm came up (then it must stay). */
  let registeredBefore = false;
  let handlerAfterUp: ReturnType<typeof binfmtHandler>;
  let multi: RnxResult;
  let amdOnly: RnxResult;
  const nodeOf = (arch: Arch) => (arch === 'amd64' ? farm.node : `${farm.node}-${arch}`);
  const runtimesDir = (arch: Arch) =>
    arch === 'amd64' ? farm.runtimesDir : join(farm.dir, 'nodes', arch, 'runtimes');
  const installed = (arch: Arch, name = NAME) => join(runtimesDir(arch), name, '1.0.0');
  const log = (component: string) =>
    readFile(join(farm.dir, 'logs', `${component}.log`), 'utf8').catch(() => '');
  /** The index entry, read from the farm's S3 store. */
  const indexEntry = async () =>
    RuntimeIndexEntry.parse(
      JSON.parse(
        (
          await createArtifactStore(farm.s3.url(farm.bucket)).getBuffer(indexKey(NAME, '1.0.0'))
        ).toString('utf8'),
      ),
    );
  const nodes = async () => {
    const r = await farm.rnx(['node', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return NodeView.array().parse(JSON.parse(r.stdout));
  };
  const job = (runtime: string, node: string | undefined, ...cmd: string[]) =>
    farm.rnx([
      'job',
      'run',
      `--runtime=${runtime}`,
      ...(node ? ['--node', node] : []),
      '--timeout',
      '5m',
      '--',
      ...cmd,
    ]);

  beforeAll(async () => {
    registeredBefore = binfmtHandler(HANDLER) !== undefined;
    farm = await startFarm({ arch: 'amd64,arm64', upTimeoutS: 300 });
    handlerAfterUp = binfmtHandler(HANDLER);
    const dir = farm.tmp.path;
    await writeFile(join(dir, 'multi.yaml'), spec(NAME));
    await writeFile(join(dir, 'amd.yaml'), spec(AMD_ONLY));
    // The amd64-only build runs on the amd64 worker while the arm64 one is emulated.
    [multi, amdOnly] = await Promise.all([
      farm.rnx(
        ['runtime', 'build', '--arch', 'amd64,arm64', '--wait-deploy', join(dir, 'multi.yaml')],
        { timeoutMs: BUILD_TIMEOUT_MS },
      ),
      farm.rnx(['runtime', 'build', '--arch', 'amd64', '--wait-deploy', join(dir, 'amd.yaml')], {
        timeoutMs: BUILD_TIMEOUT_MS,
      }),
    ]);
  }, BUILD_TIMEOUT_MS + 180_000);

  afterAll(async () => {
    await farm?.down();
    // `farm down` removes the handler `farm up` registered, and only that.
    const left = binfmtHandler(HANDLER);
    if (!registeredBefore && left) {
      await unregisterBinfmt(HANDLER);
      throw new Error(`rnx farm down left the QEMU handler ${HANDLER} registered`);
    }
    if (registeredBefore && !left) throw new Error(`rnx farm down removed ${HANDLER}`);
  }, 300_000);

  it('rnx farm up --arch amd64,arm64 runs a worker and a node per arch, arm64 under QEMU', async () => {
    expect(handlerAfterUp).toMatchObject({ enabled: true });
    expect(handlerAfterUp?.flags).toContain('F');
    const status = await farm.rnx(['farm', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { arches: string[]; components: object };
    expect(s.arches).toEqual(ARCHES);
    expect(Object.keys(s.components)).toEqual(
      expect.arrayContaining(['api', 'worker-amd64', 'worker-arm64', 'agent', 'agent-arm64']),
    );
    expect(await log('worker-arm64')).toContain('executing a foreign arch through QEMU');
  });

  it('builds one submission for both arches and deploys it to both nodes', async () => {
    const logs = async () =>
      `${multi.stdout}\n${multi.stderr}\n--- worker-arm64 ---\n${(await log('worker-arm64')).slice(-3000)}`;
    expect(multi.code, await logs()).toBe(0);
    expect(multi.stdout).toMatch(/\[amd64\] ✓ built in/);
    expect(multi.stdout).toMatch(/\[arm64\] ✓ built in/);
    expect(multi.stdout).toContain(`✓ ${NAME} 1.0.0 published`);
    expect(multi.stdout).toContain('✓ deployed to 2/2 nodes');
    expect(amdOnly.code, `${amdOnly.stdout}\n${amdOnly.stderr}`).toBe(0);
    expect(amdOnly.stdout).toContain('✓ deployed to 1/1 nodes');
    const index = await indexEntry();
    expect(Object.keys(index.arches).sort()).toEqual(ARCHES);
  });

  it('each agent installed exactly its own arch: tree hash, ELF machine, runtime.yml', async () => {
    const index = await indexEntry();
    expect(index.arches.amd64!.treeHash).not.toBe(index.arches.arm64!.treeHash);
    for (const arch of ARCHES) {
      const dir = installed(arch);
      expect((await readdir(dir)).sort()).toEqual(['isolated', 'runtime.yml']);
      expect(await treeHash(dir)).toBe(index.arches[arch]!.treeHash);
      for (const bin of ['usr/bin/python3.11', 'usr/bin/uname']) {
        expect(await readElfMachine(join(dir, 'isolated', bin)), `${arch} ${bin}`).toBe(
          ELF_MACHINE[arch],
        );
      }
      const yml = parseRuntimeYml(await readFile(join(dir, 'runtime.yml'), 'utf8'));
      expect(yml.errors).toEqual([]);
      expect(yml.value?.requirements.architectures).toEqual([arch]);
      const triplet = arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
      expect(yml.value?.environment.LD_LIBRARY_PATH).toContain(`/usr/lib/${triplet}`);
    }
    expect(ELF_MACHINE).toEqual({ amd64: 0x3e, arm64: 0xb7 });
    // The amd64-only runtime is on the amd64 node, and nowhere on the arm64 one.
    expect(existsSync(installed('amd64', AMD_ONLY))).toBe(true);
    expect(existsSync(join(runtimesDir('arm64'), AMD_ONLY))).toBe(false);
    expect((await readdir(runtimesDir('arm64'))).filter((n) => !n.startsWith('.'))).toEqual([NAME]);
  });

  it('the API shows each node with its arch and only the runtimes of that arch', async () => {
    const byName = new Map((await nodes()).map((n) => [n.name, n]));
    for (const arch of ARCHES) {
      const n = byName.get(nodeOf(arch));
      expect(n, `node ${nodeOf(arch)}`).toMatchObject({ arch, online: true });
      const have = n!.runtimes.map((r) => `${r.name}@${r.version} ${r.arch} ${r.state}`).sort();
      expect(have).toEqual(
        arch === 'amd64'
          ? [`${AMD_ONLY}@1.0.0 amd64 installed`, `${NAME}@1.0.0 amd64 installed`]
          : [`${NAME}@1.0.0 arm64 installed`],
      );
    }
  });

  it('a job pinned to the arm64 node prints aarch64; pinned to the amd64 node x86_64', async () => {
    const arm = await job(NAME, nodeOf('arm64'), 'uname', '-m');
    expect(arm.code, `${arm.stderr}\n${(await log('agent-arm64')).slice(-3000)}`).toBe(0);
    expect(arm.stdout).toBe('aarch64\n');
    const py = await job(
      NAME,
      nodeOf('arm64'),
      'python3',
      '-c',
      'import platform, six; print(platform.machine(), six.__name__)',
    );
    expect(py.code, py.stderr).toBe(0);
    expect(py.stdout).toBe('aarch64 six\n');
    const amd = await job(NAME, nodeOf('amd64'), 'uname', '-m');
    expect(amd.code, amd.stderr).toBe(0);
    expect(amd.stdout).toBe('x86_64\n');
  });

  it('routes a job only to nodes of an arch the runtime has', async () => {
    const pinned = await job(AMD_ONLY, nodeOf('arm64'), 'uname', '-m');
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toContain(
      `400: ${AMD_ONLY}@1.0.0 has no arm64 build for node ${nodeOf('arm64')} (built for amd64)`,
    );
    // Unpinned, the amd64-only runtime can only go to the amd64 node.
    const unpinned = await job(AMD_ONLY, undefined, 'uname', '-m');
    expect(unpinned.code, unpinned.stderr).toBe(0);
    expect(unpinned.stdout).toBe('x86_64\n');
    const jobs = JSON.parse((await farm.rnx(['job', 'list', '--json'])).stdout) as {
      runtime: { name: string };
      node?: string;
      arch: string;
      state: string;
    }[];
    for (const j of jobs.filter((x) => x.runtime.name === AMD_ONLY && x.state === 'COMPLETED')) {
      expect(j).toMatchObject({ node: nodeOf('amd64'), arch: 'amd64' });
    }
  });

  it('sends an unpinned job to the arm64 node once no amd64 node is online', async () => {
    // The supervisor restarts an agent that exits: the amd64 agent is frozen instead (SIGSTOP),
    // so its heartbeats stop, and thawed afterwards.
    const status = JSON.parse((await farm.rnx(['farm', 'status', '--json'])).stdout) as {
      components: Record<string, { pid?: number }>;
    };
    const pid = status.components.agent?.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGSTOP');
    try {
      // A node counts as online until its last heartbeat is NODE_OFFLINE_AFTER_MS (30 s) old.
      const deadline = Date.now() + 90_000;
      while ((await nodes()).find((n) => n.name === nodeOf('amd64'))?.online) {
        if (Date.now() > deadline) throw new Error('the frozen amd64 node stayed online');
        await new Promise((r) => setTimeout(r, 1000));
      }
      const r = await job(NAME, undefined, 'uname', '-m');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('aarch64\n');
      const amdOnlyNow = await job(AMD_ONLY, undefined, 'uname', '-m');
      expect(amdOnlyNow.code).toBe(1);
      expect(amdOnlyNow.stderr).toContain(`409: no online node can run ${AMD_ONLY}@1.0.0`);
    } finally {
      process.kill(pid!, 'SIGCONT');
    }
  }, 180_000);
});
