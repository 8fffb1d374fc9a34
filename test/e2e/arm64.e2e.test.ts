/**
 * arm64 on this amd64 host, end to end through the real `rnx` binary (issue 6): one build of a
 * small python runtime for [amd64, arm64] (the arm64 half under QEMU user emulation — the only
 * emulated build of the test run), an amd64 agent and an arm64 agent (AGENT_ARCH=arm64) that each
 * install exactly their own arch (ELF headers of the installed python read back), jobs routed by
 * arch: pinned to the arm64 node `uname -m` prints aarch64, pinned to the amd64 node x86_64, a
 * runtime built only for amd64 cannot be pinned to the arm64 node, and an unpinned job goes to
 * the arm64 node once no amd64 node is online.
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
  registerQemuBinfmt,
  unregisterBinfmt,
} from '@joblet/sandbox';
import { treeHash } from '@joblet/artifact';
import { NodeView, RuntimeIndexEntry, parseRuntimeYml, type Arch } from '@joblet/spec';
import { indexKey } from '@joblet/storage';
import type { RnxResult } from './farm-fixture.js';
import { startMultiArchFarm, type MultiArchFarm } from './multiarch-farm.js';

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
  let farm: MultiArchFarm;
  let registered = false;
  let multi: RnxResult;
  let amdOnly: RnxResult;
  const installed = (arch: Arch, name = NAME) => join(farm.runtimesDirs[arch], name, '1.0.0');
  /** The index entry, read from the directory store the farm uses. */
  const indexEntry = async () =>
    RuntimeIndexEntry.parse(
      JSON.parse(
        await readFile(join(farm.tmp.path, 'store', ...indexKey(NAME, '1.0.0').split('/')), 'utf8'),
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
    // As an operator would (binfmt-support at boot): the daemons find the handler registered.
    if (!binfmtHandler(HANDLER)?.flags.includes('F')) {
      await registerQemuBinfmt('arm64');
      registered = true;
    }
    farm = await startMultiArchFarm();
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
    if (registered) await unregisterBinfmt(HANDLER);
  }, 300_000);

  it('builds one submission for both arches and deploys it to both nodes', async () => {
    const logs = async () =>
      `${multi.stdout}\n${multi.stderr}\n--- worker-arm64 ---\n${(await farm.log('worker-arm64')).slice(-3000)}`;
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
    expect(existsSync(join(farm.runtimesDirs.arm64, AMD_ONLY))).toBe(false);
    expect((await readdir(farm.runtimesDirs.arm64)).filter((n) => !n.startsWith('.'))).toEqual([
      NAME,
    ]);
  });

  it('the API shows each node with its arch and only the runtimes of that arch', async () => {
    const byName = new Map((await nodes()).map((n) => [n.name, n]));
    for (const arch of ARCHES) {
      const n = byName.get(farm.nodes[arch]);
      expect(n, `node ${farm.nodes[arch]}`).toMatchObject({ arch, online: true });
      const have = n!.runtimes.map((r) => `${r.name}@${r.version} ${r.arch} ${r.state}`).sort();
      expect(have).toEqual(
        arch === 'amd64'
          ? [`${AMD_ONLY}@1.0.0 amd64 installed`, `${NAME}@1.0.0 amd64 installed`]
          : [`${NAME}@1.0.0 arm64 installed`],
      );
    }
  });

  it('a job pinned to the arm64 node prints aarch64; pinned to the amd64 node x86_64', async () => {
    const arm = await job(NAME, farm.nodes.arm64, 'uname', '-m');
    expect(arm.code, `${arm.stderr}\n${(await farm.log('agent-arm64')).slice(-3000)}`).toBe(0);
    expect(arm.stdout).toBe('aarch64\n');
    const py = await job(
      NAME,
      farm.nodes.arm64,
      'python3',
      '-c',
      'import platform, six; print(platform.machine(), six.__name__)',
    );
    expect(py.code, py.stderr).toBe(0);
    expect(py.stdout).toBe('aarch64 six\n');
    const amd = await job(NAME, farm.nodes.amd64, 'uname', '-m');
    expect(amd.code, amd.stderr).toBe(0);
    expect(amd.stdout).toBe('x86_64\n');
  });

  it('routes a job only to nodes of an arch the runtime has', async () => {
    const pinned = await job(AMD_ONLY, farm.nodes.arm64, 'uname', '-m');
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toContain(
      `400: ${AMD_ONLY}@1.0.0 has no arm64 build for node ${farm.nodes.arm64} (built for amd64)`,
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
      expect(j).toMatchObject({ node: farm.nodes.amd64, arch: 'amd64' });
    }
  });

  it('sends an unpinned job to the arm64 node once no amd64 node is online', async () => {
    await farm.stop('agent-amd64');
    // A node counts as online until its last heartbeat is NODE_OFFLINE_AFTER_MS (30 s) old.
    const deadline = Date.now() + 60_000;
    while ((await nodes()).find((n) => n.name === farm.nodes.amd64)?.online) {
      if (Date.now() > deadline) throw new Error('the stopped amd64 node stayed online');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const r = await job(NAME, undefined, 'uname', '-m');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('aarch64\n');
    const amdOnlyNow = await job(AMD_ONLY, undefined, 'uname', '-m');
    expect(amdOnlyNow.code).toBe(1);
    expect(amdOnlyNow.stderr).toContain(`409: no online node can run ${AMD_ONLY}@1.0.0`);
  }, 120_000);
});
