// Admission with real jobs (real Redis, bwrap, cgroups): how many run at once follows what they
// reserve of the node, not its core count; a job whose memory does not fit waits for room, one
// larger than the node fails at once, and a stop request ends a wait.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '@joblet/spec';
import { waitFor } from '../test-support.js';
import { makeHarness, missingForJobs, type Harness } from './job-test-support.js';

const missing = missingForJobs();
const MiB = 1024 * 1024;

/** The most jobs whose [startedAt, finishedAt] overlap at one instant. */
function mostAtOnce(recs: JobRecord[]): number {
  const edges = recs.flatMap((r) => [
    { t: Date.parse(r.startedAt!), d: 1 },
    { t: Date.parse(r.finishedAt!), d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}

describe.skipIf(missing.length > 0)(
  `job admission [requires ${missing.join(', ') || 'root, bwrap, cgroups, the bookworm root'}]`,
  () => {
    let h: Harness;

    beforeAll(async () => {
      // One core and 300 MB for jobs; a job without limits reserves a tenth of a core and 64 MB.
      h = await makeHarness({
        runner: {
          capacity: 16,
          resources: {
            cpuPercent: 100,
            memoryBytes: 300 * MiB,
            defaultCpuPercent: 10,
            defaultMemoryBytes: 16 * MiB,
          },
        },
      });
    }, 120_000);
    afterAll(async () => {
      await h?.close();
    });

    it('runs many small jobs at once, as many as their CPU shares fit (10 of 12), not one per core', async () => {
      const ids = await Promise.all(
        Array.from({ length: 12 }, () => h.submit({ command: 'sleep', args: ['3'] })),
      );
      const recs = await Promise.all(ids.map((id) => h.waitEnd(id, 120_000)));
      expect(recs.map((r) => r.state)).toEqual(Array(12).fill('COMPLETED'));
      const most = mostAtOnce(recs);
      expect(most).toBeGreaterThan(2);
      expect(most).toBeLessThanOrEqual(10);
    }, 180_000);

    it('holds a job whose memory limit exceeds what is free until a running job gives its memory back', async () => {
      const big = await h.submit({
        command: 'sh',
        args: ['-c', 'sleep 2; echo big'],
        limits: { maxMemoryMB: 200 },
      });
      await waitFor(
        async () => ((await h.store.get(big))?.state === 'RUNNING' ? true : undefined),
        'the first job to run',
        60_000,
      );
      const waiting = await h.submit({
        command: 'echo',
        args: ['next'],
        limits: { maxMemoryMB: 200 },
      });
      // While the first runs, the second is taken from the queue but not started.
      await new Promise((r) => setTimeout(r, 700));
      expect((await h.store.get(waiting))?.state).toBe('QUEUED');
      expect(h.runner.admission.state().waiting).toBe(1);
      const [a, b] = [await h.waitEnd(big), await h.waitEnd(waiting)];
      expect([a.state, b.state]).toEqual(['COMPLETED', 'COMPLETED']);
      expect(Date.parse(b.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt!));
      expect(await h.stdout(waiting)).toEqual(['next']);
    }, 120_000);

    it('fails at once a job asking more memory than the node has for jobs, naming both', async () => {
      const id = await h.submit({ command: 'true', limits: { maxMemoryMB: 400 } });
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({
        state: 'FAILED',
        reason: 'start-failed',
        message: '--max-memory 400 MB is more than node jobnode has for jobs: 300 MB',
      });
      expect(rec.startedAt).toBeUndefined();
    });

    it('ends a waiting job STOPPED when it is stopped, and it never runs', async () => {
      const big = await h.submit({ command: 'sleep', args: ['2'], limits: { maxMemoryMB: 250 } });
      await waitFor(
        async () => ((await h.store.get(big))?.state === 'RUNNING' ? true : undefined),
        'the first job to run',
        60_000,
      );
      const id = await h.submit({ command: 'echo', args: ['ran'], limits: { maxMemoryMB: 100 } });
      await waitFor(
        () => (h.runner.admission.state().waiting === 1 ? true : undefined),
        'the second job to wait',
        10_000,
      );
      await h.w.redis.publish(h.w.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      const rec = await h.waitEnd(id);
      expect(rec.state).toBe('STOPPED');
      expect(rec.startedAt).toBeUndefined();
      expect(await h.stdout(id)).toEqual([]);
      expect(h.runner.admission.state().waiting).toBe(0);
      expect((await h.waitEnd(big)).state).toBe('COMPLETED');
    }, 120_000);
  },
);
