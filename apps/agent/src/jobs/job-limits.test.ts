// Limits and killing, for real: memory (OOM), CPU quota measured by the cgroup's CPU time, cpuset
// pinning, pids.max against a fork bomb, stop of a whole process tree, the agent's own shutdown,
// and a volume that cannot be removed while a job mounts it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES, JobRegistry, NODE_QUEUE_JOBS } from '@joblet/queue';
import { parseCpuList, processStartTime } from '@joblet/sandbox';
import { waitFor } from '../test-support.js';
import { makeHarness, missingForJobs, type Harness } from './job-test-support.js';

const missing = missingForJobs();

function pidsIn(dirs: string[]): number[] {
  const out = new Set<number>();
  for (const d of dirs) {
    for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) {
      if (l.trim()) out.add(Number(l));
    }
  }
  return [...out];
}

describe.skipIf(missing.length > 0)(
  `job limits [requires ${missing.join(', ') || 'root, bwrap, cgroups, the bookworm root'}]`,
  () => {
    let h: Harness;

    beforeAll(async () => {
      h = await makeHarness();
    });
    afterAll(async () => {
      await h?.close();
    });

    it('ends an allocation beyond maxMemoryMB as FAILED out-of-memory', async () => {
      const id = await h.submit({
        command: 'sh',
        // cgroup v1 kills only the biggest process (tail): the agent kills the rest, as v2's
        // memory.oom.group would, before the shell gets to the echo.
        args: ['-c', 'echo start; head -c 500M /dev/zero | tail; sleep 2; echo survived'],
        limits: { maxMemoryMB: 64 },
      });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({
        state: 'FAILED',
        reason: 'out-of-memory',
        message: 'out of memory (limit 64 MB)',
      });
      expect(rec.usage?.oomKills).toBeGreaterThan(0);
      expect(rec.usage?.peakMemoryBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
      expect(await h.stdout(id)).not.toContain('survived');
      expect(h.cgroupDirs(id)).toEqual([]);
    });

    it('holds a busy loop near half a core with maxCpuPercent 50 (cgroup CPU time)', async () => {
      const id = await h.submit({
        command: 'timeout',
        args: ['3', 'sh', '-c', 'while :; do :; done'],
        limits: { maxCpuPercent: 50 },
      });
      // The quota at work: the kernel throttles the group (cpu.stat, v1 and v2 alike).
      const throttled = await waitFor(
        () => {
          for (const d of h.cgroupDirs(id)) {
            const stat = (() => {
              try {
                return readFileSync(join(d, 'cpu.stat'), 'utf8');
              } catch {
                return '';
              }
            })();
            const n = Number(/nr_throttled (\d+)/.exec(stat)?.[1] ?? 0);
            if (n > 0) return n;
          }
          return undefined;
        },
        'the group to be throttled',
        10_000,
      );
      expect(throttled).toBeGreaterThan(0);
      const rec = await h.waitEnd(id);
      // timeout(1) ends the loop with SIGTERM and exits 124.
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'exited', exitCode: 124 });
      const cores = (rec.usage?.cpuUsageUsec ?? 0) / 3_000_000;
      console.log(`cpu 50%: ${cores.toFixed(3)} cores`);
      // Loose below (a loaded 2-core machine may not even give half a core), tight above.
      expect(cores).toBeGreaterThan(0.25);
      expect(cores).toBeLessThan(0.6);
    });

    it('pins to the CPUs of cpuCores', async () => {
      const id = await h.submit({
        command: 'grep',
        args: ['Cpus_allowed_list', '/proc/self/status'],
        limits: { cpuCores: '0' },
      });
      expect((await h.waitEnd(id)).state).toBe('COMPLETED');
      const [line] = await h.stdout(id);
      expect(parseCpuList(line!.split(':')[1]!.trim())).toEqual([0]);
    });

    it('throttles direct I/O on the job disk with maxIoBps', async () => {
      const id = await h.submit({
        command: 'sh',
        args: [
          '-c',
          's=$(date +%s%N); dd if=/dev/zero of=/work/f bs=1M count=8 oflag=direct 2>/dev/null; ' +
            'echo "ms=$(( ($(date +%s%N) - s) / 1000000 ))"',
        ],
        limits: { maxIoBps: 4 * 1024 * 1024 },
      });
      const rec = await h.waitEnd(id);
      expect(rec.state).toBe('COMPLETED');
      const ms = Number(/ms=(\d+)/.exec((await h.stdout(id)).join('\n'))?.[1]);
      console.log(`8 MiB at 4 MiB/s: ${ms} ms`);
      expect(ms).toBeGreaterThan(1500); // unthrottled, this disk writes 8 MiB in well under 1 s
    });

    it('contains a fork bomb with pids.max; the job ends and leaves nothing', async () => {
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'b() { b | b & }; b; sleep 2; echo "procs=$(ls /proc | grep -c "^[0-9]")"'],
        limits: { maxProcesses: 40, timeoutS: 20 },
      });
      let maxSeen = 0;
      const rec = await waitFor(
        async () => {
          const dirs = h.cgroupDirs(id);
          // Per hierarchy: the kernel bounds each cgroup; a union of two reads taken a moment
          // apart can count a process that exited in one and its successor in the other.
          for (const d of dirs) maxSeen = Math.max(maxSeen, pidsIn([d]).length);
          const r = await h.store.get(id);
          return r && ['COMPLETED', 'FAILED', 'STOPPED'].includes(r.state) ? r : undefined;
        },
        'the fork bomb to end',
        40_000,
      );
      const out = (await h.output(id)).join('\n');
      console.log(`fork bomb: ${rec.state} ${rec.reason} max ${maxSeen} processes`);
      expect(rec.reason).not.toBe('timeout'); // it ended by itself, contained
      expect(maxSeen).toBeLessThanOrEqual(40);
      expect(out).toMatch(/Cannot fork|Resource temporarily unavailable/);
      expect(h.cgroupDirs(id)).toEqual([]);
    });

    it('stop kills the whole process tree', async () => {
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'sleep 1000 & (sleep 1000 &) ; sh -c "sleep 1000" & echo started; wait'],
      });
      await waitFor(async () => (await h.stdout(id)).includes('started') || undefined, 'started');
      const dirs = h.cgroupDirs(id);
      expect(dirs.length).toBeGreaterThan(0);
      const pids = pidsIn(dirs);
      expect(pids.length).toBeGreaterThanOrEqual(5); // bwrap x2, sh, sleeps
      await h.w.redis.publish(h.w.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      const rec = await h.waitEnd(id, 20_000);
      expect(rec).toMatchObject({
        state: 'STOPPED',
        reason: 'stopped',
        message: 'stopped by request',
      });
      for (const pid of pids) expect(await processStartTime(pid)).toBeNull();
      expect(h.cgroupDirs(id)).toEqual([]);
    });

    it('a volume mounted by a running job cannot be removed', async () => {
      await h.runner.volumes.create('busy');
      await h.w.redis.sadd(h.w.keys.volumes(h.node), 'busy');
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'echo in; sleep 1000'],
        volumes: ['busy'],
      });
      await waitFor(async () => (await h.stdout(id)).includes('in') || undefined, 'running');
      const nodeQueue = new JobRegistry(NODE_QUEUE_JOBS, h.runner.nodeQueueHandlers());
      const job = { name: JOB_NAMES.volumeRemove, data: { name: 'busy' } } as Job;
      await expect(nodeQueue.process(job)).rejects.toThrow(/volume busy is in use by running job/);
      await h.w.redis.publish(h.w.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      await h.waitEnd(id);
      await expect(nodeQueue.process(job)).resolves.toEqual({ name: 'busy', removed: true });
      const bad = { name: JOB_NAMES.volumeCreate, data: { name: '../etc' } } as Job;
      await expect(nodeQueue.process(bad)).rejects.toThrow(/invalid volume name/);
    });

    it('at agent stop, lets jobs finish until the deadline, then stops them', async () => {
      const quick = await h.submit({ command: 'sh', args: ['-c', 'sleep 0.5; echo done'] });
      const slow = await h.submit({ command: 'sh', args: ['-c', 'echo up; sleep 1000'] });
      await waitFor(async () => (await h.stdout(slow)).includes('up') || undefined, 'slow up');
      await h.runner.stop(1500);
      expect(await h.store.get(quick)).toMatchObject({ state: 'COMPLETED' });
      expect(await h.store.get(slow)).toMatchObject({
        state: 'STOPPED',
        reason: 'stopped',
        message: expect.stringMatching(/agent stopped/),
      });
      expect(h.cgroupDirs(slow)).toEqual([]);
    });
  },
);
