// The v2 backend cannot run for real on the farm's hybrid machines, so it is exercised against a
// directory tree laid out like cgroupfs: the files it writes are checked byte for byte, and the
// files the kernel would write are provided. The kernel's side (EBUSY for internal processes,
// cgroup.kill itself) is not covered here.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockDeviceOf } from './block-device.js';
import { CgroupManager } from './cgroup.js';
import type { CgroupLayout } from './cgroups.js';
import { SandboxErrorCode } from './errors.js';
import { spawnProcess } from './exec.js';
import { processStartTime } from './file-lock.js';
import { cleanupTemps, tempDir } from './testing.js';

afterAll(cleanupTemps);

/** A fake v2 mount with our process in /system.slice/agent.service. */
function fakeV2(controllers: string): { layout: CgroupLayout; own: string; stateDir: string } {
  const mount = tempDir('cgroup2');
  const own = join(mount, 'system.slice/agent.service');
  mkdirSync(own, { recursive: true });
  writeFileSync(join(own, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(join(own, 'cpuset.cpus.effective'), '0-1\n');
  writeFileSync(join(own, 'cgroup.kill'), '');
  writeFileSync(join(own, 'cgroup.freeze'), '0\n');
  const layout: CgroupLayout = {
    version: 'v2',
    root: mount,
    unified: {
      mountPoint: mount,
      ownPath: '/system.slice/agent.service',
      ownDir: own,
      controllers: controllers.split(' '),
    },
    v1: {},
    controllers: controllers.split(' ').sort(),
  };
  return { layout, own, stateDir: tempDir('cgstate') };
}

const read = (p: string) => readFileSync(p, 'utf8');

describe('cgroup v2 backend (on a cgroupfs-like tree)', () => {
  it('enables controllers for the namespace and writes every limit in v2 format', async () => {
    const { layout, own, stateDir } = fakeV2('cpuset cpu io memory hugetlb pids');
    const m = await CgroupManager.detect({ layout, namespace: 'jobs', stateDir });
    expect(m.supports()).toEqual({
      memory: true,
      cpu: true,
      cpuset: true,
      pids: true,
      io: true,
      kill: true,
      oomGroup: true,
    });
    const disk = await blockDeviceOf(tempDir('io'));
    const ioBps = disk ? [{ device: disk, readBps: 1 << 20, writeBps: 2 << 20 }] : [];
    const g = await m.create('job-1', {
      memoryBytes: 64 << 20,
      cpuPercent: 50,
      cpus: '1',
      pidsMax: 20,
      ioBps,
    });
    const dir = join(own, 'jobs/job-1');
    expect(g.paths).toEqual([dir]);
    expect(m.namespaceDirs()).toEqual([join(own, 'jobs')]);
    expect(read(join(own, 'cgroup.subtree_control'))).toBe('+cpu +cpuset +io +memory +pids');
    expect(read(join(own, 'jobs/cgroup.subtree_control'))).toBe('+cpu +cpuset +io +memory +pids');
    expect(read(join(dir, 'memory.max'))).toBe(String(64 << 20));
    expect(read(join(dir, 'memory.oom.group'))).toBe('1');
    expect(read(join(dir, 'cpu.max'))).toBe('50000 100000');
    expect(read(join(dir, 'cpuset.cpus'))).toBe('1');
    expect(read(join(dir, 'pids.max'))).toBe('20');
    if (disk) expect(read(join(dir, 'io.max'))).toBe(`${disk} rbps=1048576 wbps=2097152`);
    expect(JSON.parse(read(join(stateDir, 'jobs/job-1.json')))).toMatchObject({
      pid: process.pid,
      start: await processStartTime(process.pid),
    });
    expect(g.wrap('python3', ['x.py']).args.slice(2)).toEqual([
      'cgroup-join',
      '1',
      dir,
      'python3',
      'x.py',
    ]);
    await expect(m.create('job-1', {})).rejects.toMatchObject({
      code: SandboxErrorCode.CgroupExists,
    });
  });

  it('reads stats from memory.peak, memory.events, cpu.stat and pids.events', async () => {
    const { layout, own, stateDir } = fakeV2('cpu memory pids');
    const m = await CgroupManager.detect({ layout, namespace: 'jobs', stateDir });
    const g = await m.create('job-2', {});
    const dir = join(own, 'jobs/job-2');
    writeFileSync(join(dir, 'memory.peak'), '73400320\n');
    writeFileSync(join(dir, 'memory.current'), '4096\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 987654\nuser_usec 900000\n');
    writeFileSync(join(dir, 'pids.events'), 'max 3\n');
    writeFileSync(join(dir, 'cgroup.procs'), '');
    expect(await g.stats()).toEqual({
      memoryPeakBytes: 73400320,
      memoryCurrentBytes: 4096,
      cpuUsageUsec: 987654,
      oomKills: 1,
      pids: 0,
      pidsLimitHits: 3,
    });
  });

  it('refuses limits whose controller our cgroup does not offer, naming both', async () => {
    const { layout, stateDir } = fakeV2('memory pids');
    const m = await CgroupManager.detect({ layout, namespace: 'jobs', stateDir });
    expect(m.supports()).toMatchObject({ memory: true, pids: true, cpu: false, io: false });
    await expect(m.create('job-3', { cpuPercent: 50 })).rejects.toMatchObject({
      code: SandboxErrorCode.LimitUnsupported,
      message: expect.stringMatching(
        /^cpu limit: the cpu controller is not available to this process's cgroup .*lists memory pids\)$/,
      ) as unknown,
    });
  });

  it('kills through cgroup.kill, then freezes and SIGKILLs what is still listed', async () => {
    const { layout, own, stateDir } = fakeV2('memory pids');
    const m = await CgroupManager.detect({
      layout,
      namespace: 'jobs',
      stateDir,
      killTimeoutMs: 300,
    });
    const g = await m.create('job-4', {});
    const dir = join(own, 'jobs/job-4');
    const victim = spawnProcess('sleep', ['30'], { stdout: 'ignore', stderr: 'ignore' });
    // Our fake cgroup.procs keeps listing the pid after it dies, so kill() must give up in time.
    writeFileSync(join(dir, 'cgroup.procs'), `${victim.pid}\n`);
    writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    await expect(g.kill()).rejects.toMatchObject({
      code: SandboxErrorCode.CgroupFailed,
      message: expect.stringContaining(
        `not empty 300 ms after SIGKILL: pids ${victim.pid}`,
      ) as unknown,
    });
    expect(read(join(dir, 'cgroup.kill'))).toBe('1');
    expect(read(join(dir, 'cgroup.freeze'))).toBe('0'); // thawed again
    expect((await victim.result).signal).toBe('SIGKILL');
  });
});
