// A job's /work of a bounded size, on the real kernel: `--max-disk` and the node's default are
// filesystems of their own (ext4 images, loop-mounted), a write past them fails with ENOSPC in
// the job and the record says /work is full; uploads count; the node's maximum is enforced; and
// after every job — killed, or left by a dead agent — no mount, loop device or image remains.
// Sized volumes use the same mechanism: a write stops at the size, data stays between jobs and
// across a node restart, removal leaves nothing.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import type { Job } from 'bullmq';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES, JobRegistry, NODE_QUEUE_JOBS } from '@joblet/queue';
import { diskImagesMissing, loopDevicesBackedBy, mountsUnder, unmount } from '@joblet/sandbox';
import { waitFor } from '../test-support.js';
import { cleanupJobDirs, createJobDir } from './job-dirs.js';
import { makeHarness, missingForJobs, upload, type Harness } from './job-test-support.js';

const MiB = 1024 * 1024;
const missing = [...missingForJobs(), ...(diskImagesMissing() ? ['loop devices'] : [])];

function hostFree(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

describe.skipIf(missing.length > 0)(
  `job /work size [requires ${missing.join(', ') || 'root, bwrap, loop devices'}]`,
  () => {
    let h: Harness;
    let workRoot: string;

    /** Nothing of any job left under the work root but the ready-made disks. */
    async function nothingLeft(id: string): Promise<void> {
      // The record is final before the clean-up ends: wait for the directory to go.
      await waitFor(() => !existsSync(join(workRoot, id)) || undefined, 'the job dir removed');
      const mounts = await mountsUnder(workRoot);
      expect(mounts.filter((m) => !m.includes('/.disk-'))).toEqual([]);
      const loops = await loopDevicesBackedBy(join(workRoot, id), { under: true });
      expect(loops).toEqual([]);
    }

    beforeAll(async () => {
      h = await makeHarness({
        runner: { workDisks: { defaultMB: 24, maxMB: 64, pool: 1 } },
      });
      workRoot = h.w.dir('work');
    });
    afterAll(async () => {
      await h?.close();
    });

    it('stops a write past --max-disk with ENOSPC; the record says /work is full', async () => {
      const before = hostFree(workRoot);
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'df -k /work | tail -1; dd if=/dev/zero of=/work/fill bs=1M count=200'],
        limits: { maxDiskMB: 16 },
      });
      const rec = await h.waitEnd(id);
      const out = (await h.output(id)).join('\n');
      expect(out).toContain('No space left on device');
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'exited' });
      expect(rec.message).toMatch(/\/work is full \(16 MB: --max-disk/);
      // df inside the job: a 16 MB filesystem (ext4's metadata takes a little of it).
      const kb = Number(/\s(\d+)\s+\d+\s+\d+\s+\d+%/.exec(out)?.[1]);
      expect(kb).toBeGreaterThan(14 * 1024);
      expect(kb).toBeLessThanOrEqual(16 * 1024);
      // The host disk gave at most the 16 MB, and has it back.
      expect(before - hostFree(workRoot)).toBeLessThan(64 * MiB);
      await nothingLeft(id);
    });

    it('gives a job without --max-disk the node default, from the ready-made disks', async () => {
      await waitFor(() => h.runner.workDiskStats().ready === 1 || undefined, 'a ready disk');
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'df -k /work | tail -1; ls -A /work'],
      });
      const rec = await h.waitEnd(id);
      expect(rec.state).toBe('COMPLETED');
      const [line, ...rest] = await h.stdout(id);
      const kb = Number(/\s(\d+)\s+\d+\s+\d+\s+\d+%/.exec(line ?? '')?.[1]);
      expect(kb).toBeGreaterThan(22 * 1024);
      expect(kb).toBeLessThanOrEqual(24 * 1024);
      expect(rest).toEqual([]); // empty: no lost+found, nothing of another job
      await nothingLeft(id);
      // The pool is topped up again for the next job.
      await waitFor(() => h.runner.workDiskStats().ready === 1 || undefined, 'refilled');
    });

    it('counts uploads: uploads larger than /work fail the start, naming the limit', async () => {
      const big = Buffer.alloc(12 * MiB, 1).toString('latin1');
      const id = await h.submit({
        command: 'true',
        uploads: [upload('big.bin', big)],
        limits: { maxDiskMB: 8 },
      });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'start-failed' });
      expect(rec.message).toMatch(/the uploads do not fit in \/work \(8 MB/);
      await nothingLeft(id);
    });

    it('refuses more than the node maximum, naming AGENT_JOB_DISK_MAX_MB', async () => {
      const id = await h.submit({ command: 'true', limits: { maxDiskMB: 128 } });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'FAILED', reason: 'start-failed' });
      expect(rec.message).toBe(
        '--max-disk 128 MB is more than node jobnode allows: 64 MB (AGENT_JOB_DISK_MAX_MB)',
      );
      await nothingLeft(id);
    });

    it('a job stopped while writing leaves nothing', async () => {
      const id = await h.submit({
        command: 'sh',
        args: [
          '-c',
          'echo writing; while :; do dd if=/dev/zero of=/work/f bs=1M count=4 2>/dev/null; done',
        ],
        limits: { maxDiskMB: 16 },
      });
      await waitFor(async () => (await h.stdout(id)).includes('writing') || undefined, 'running');
      await h.w.redis.publish(h.w.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      expect((await h.waitEnd(id)).state).toBe('STOPPED');
      await nothingLeft(id);
    });

    it('a sized volume stops a write at its size, keeps data between jobs, leaves nothing', async () => {
      const nodeQueue = new JobRegistry(NODE_QUEUE_JOBS, h.runner.nodeQueueHandlers());
      const call = (name: string, data: object) => nodeQueue.process({ name, data } as Job);
      const volumesDir = h.runner.volumes.dir('sized').replace(/\/sized$/, '');
      await call(JOB_NAMES.volumeCreate, { name: 'sized', sizeBytes: 16 * MiB });
      await h.w.redis.sadd(h.w.keys.volumes(h.node), 'sized');
      const first = await h.submit({
        command: 'sh',
        args: [
          '-c',
          'head -c 4M /dev/zero > /volumes/sized/kept && head -c 64M /dev/zero > /volumes/sized/big',
        ],
        volumes: ['sized'],
      });
      expect(await h.waitEnd(first)).toMatchObject({ state: 'FAILED', exitCode: 1 });
      expect((await h.output(first)).join('\n')).toContain('No space left on device');
      // After a restart of the node (mounts gone), start-up mounts it again, data intact.
      await unmount(h.runner.volumes.dir('sized'));
      await h.runner.volumes.prepare();
      const second = await h.submit({
        command: 'sh',
        args: ['-c', 'wc -c < /volumes/sized/kept'],
        volumes: ['sized'],
      });
      expect(await h.waitEnd(second)).toMatchObject({ state: 'COMPLETED' });
      expect(await h.stdout(second)).toEqual([String(4 * MiB)]);
      await expect(
        call(JOB_NAMES.volumeCreate, { name: 'sized', sizeBytes: 32 * MiB }),
      ).rejects.toThrow(/exists with 16777216 bytes; remove it first/);
      await expect(call(JOB_NAMES.volumeRemove, { name: 'sized' })).resolves.toEqual({
        name: 'sized',
        removed: true,
      });
      expect(await mountsUnder(volumesDir)).toEqual([]);
      expect(await loopDevicesBackedBy(volumesDir, { under: true })).toEqual([]);
      expect(readdirSync(volumesDir).filter((f) => f !== '.images')).toEqual([]);
      expect(readdirSync(join(volumesDir, '.images'))).toEqual([]);
    });

    it('removes the mounted /work of a dead agent at start-up', async () => {
      const root = h.w.dir('crashed');
      const id = randomUUID();
      const d = await createJobDir(root, id, 16 * MiB);
      expect(await mountsUnder(root)).toEqual([d.mount]);
      // As left by an agent that was killed: its owner file names a process that is gone.
      writeFileSync(join(d.dir, '.owner'), JSON.stringify({ pid: 2 ** 22 + 1, start: 1 }));
      expect(await cleanupJobDirs(root)).toEqual([id]);
      expect(await mountsUnder(root)).toEqual([]);
      expect(await loopDevicesBackedBy(root, { under: true })).toEqual([]);
      expect(existsSync(d.dir)).toBe(false);
    });
  },
);
