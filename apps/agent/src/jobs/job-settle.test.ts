// A job's record and output settle across Redis faults: a Redis of the test's own (persistent,
// as production runs it) is killed and brought back on the same port mid-job and as the job ends.
// The record must end with the job's real exit (never RUNNING forever, never `start-failed`),
// the log must hold every line and the END event. And the agent's reconciler: a job declared
// lost while it still runs here is re-attached; a job whose record ended elsewhere is stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestartableRedis, type RestartableRedis } from '@joblet/testkit';
import type { JobEvent } from '@joblet/spec';
import { waitFor } from '../test-support.js';
import { makeHarness, missingForJobs, type Harness } from './job-test-support.js';

const missing = missingForJobs();

/** The state/end events of a stream, as `STATE` or `END STATE exit reason`. */
function transitions(events: JobEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'state') return [e.state];
    if (e.type === 'end') return [`END ${e.state} ${e.exitCode ?? '-'} ${e.reason ?? '-'}`];
    return [];
  });
}

describe.skipIf(missing.length > 0)(
  `job state across Redis restarts [requires ${missing.join(', ') || 'root, bwrap, the bookworm root'}]`,
  () => {
    let redis: RestartableRedis;
    let h: Harness;

    beforeAll(async () => {
      redis = await startRestartableRedis();
      h = await makeHarness({ redisUrl: redis.url, runner: { recordCheckMs: 200 } });
    }, 120_000);
    afterAll(async () => {
      await h?.close();
      await redis?.stop();
    });

    /** Resolves once the job's stdout holds `line` (polled through the test's own client). */
    const printed = (id: string, line: string) =>
      waitFor(async () => (await h.stdout(id)).includes(line) || undefined, `"${line}"`, 60_000);

    it('keeps every line printed while Redis was away for 1.5 s mid-job, and the end', async () => {
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'echo begin; for i in $(seq 1 30); do echo "line $i"; sleep 0.1; done'],
      });
      await printed(id, 'begin');
      // Lines 1-15 or so are printed while Redis is down.
      await redis.restart(1500);
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(rec.reason).toBeUndefined();
      const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
      expect(await h.stdout(id)).toEqual(['begin', ...lines]);
      expect(rec.output).toEqual({ lines: 31, truncated: false });
      expect(transitions(await h.events(id))).toEqual([
        'QUEUED',
        'INITIALIZING',
        'RUNNING',
        'END COMPLETED 0 -',
      ]);
    }, 90_000);

    it('records the real exit and the END when the job ends while Redis is away for 4 s', async () => {
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'echo begin; sleep 1; for i in $(seq 1 50); do echo "tail $i"; done; exit 7'],
      });
      await printed(id, 'begin');
      // The job prints its tail and exits about 1 s from now, in the middle of the outage.
      await redis.restart(4000);
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'FAILED', exitCode: 7, reason: 'exited', node: h.node });
      const tail = Array.from({ length: 50 }, (_, i) => `tail ${i + 1}`);
      expect(await h.stdout(id)).toEqual(['begin', ...tail]);
      expect(transitions(await h.events(id))).toEqual([
        'QUEUED',
        'INITIALIZING',
        'RUNNING',
        'END FAILED 7 exited',
      ]);
      // Nothing of the job stays behind once its end is recorded.
      await waitFor(() => h.cgroupDirs(id).length === 0 || undefined, 'the cgroup gone');
      expect(await h.w.redis.exists(h.w.keys.jobUploads(id))).toBe(0);
    }, 90_000);

    it('takes new jobs again once Redis is back from an outage', async () => {
      // No job to take while Redis is away; the runner's queue worker waits, it does not stop.
      await redis.restart(3000);
      const id = await h.submit({ command: 'sh', args: ['-c', 'echo after'] });
      const rec = await h.waitEnd(id, 30_000);
      expect(rec).toMatchObject({ state: 'COMPLETED', exitCode: 0, node: h.node });
      expect(await h.stdout(id)).toEqual(['after']);
    }, 60_000);

    it('re-attaches a job declared lost while its process still runs here', async () => {
      const id = await h.submit({
        command: 'sh',
        args: ['-c', 'echo begin; sleep 2; echo "still here"; exit 0'],
      });
      await printed(id, 'begin');
      // What the API does when the node's heartbeat lapsed (a long Redis outage).
      const lost = await h.store.transition(id, 'FAILED', {
        reason: 'node-lost',
        message: `node ${h.node} stopped answering while the job ran`,
        finishedAt: new Date().toISOString(),
      });
      expect(lost?.state).toBe('FAILED');
      // The agent's check corrects it while the job runs (it sleeps 2 s more).
      await waitFor(
        async () => (await h.store.get(id))?.state === 'RUNNING' || undefined,
        'the record re-attached',
      );
      const rec = await h.waitEnd(id);
      expect(rec).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
      expect(rec.reason).toBeUndefined();
      expect(rec.message).toBeUndefined();
      expect(await h.stdout(id)).toEqual(['begin', 'still here']);
      expect(transitions(await h.events(id))).toEqual([
        'QUEUED',
        'INITIALIZING',
        'RUNNING',
        'END FAILED - node-lost',
        'RUNNING',
        'END COMPLETED 0 -',
      ]);
    }, 60_000);

    it('stops a job declared lost that still runs here, and records its real end', async () => {
      const id = await h.submit({ command: 'sh', args: ['-c', 'echo begin; sleep 60'] });
      await printed(id, 'begin');
      await h.store.transition(id, 'FAILED', { reason: 'node-lost', message: 'lost' });
      // What `rnx job stop` of such a job does (the API passes the stop on).
      await h.w.redis.publish(h.w.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      const rec = await h.waitEnd(id, 20_000).then(() =>
        waitFor(async () => {
          const r = await h.store.get(id);
          return r?.state === 'STOPPED' ? r : undefined;
        }, 'the record STOPPED'),
      );
      expect(rec).toMatchObject({ state: 'STOPPED', reason: 'stopped' });
      await waitFor(() => h.cgroupDirs(id).length === 0 || undefined, 'the cgroup gone');
    }, 60_000);

    it('stops the process of a job whose record ended elsewhere', async () => {
      const id = await h.submit({ command: 'sh', args: ['-c', 'echo begin; sleep 60'] });
      await printed(id, 'begin');
      // A stop whose message never arrived (published while this agent's subscriber was away).
      await h.store.transition(id, 'STOPPED', { reason: 'stopped', message: 'stopped by request' });
      const rec = await waitFor(
        async () => {
          const r = await h.store.get(id);
          return r?.finishedAt !== undefined && r.usage !== undefined ? r : undefined;
        },
        'the agent to record the stopped process',
        20_000,
      );
      expect(rec.state).toBe('STOPPED');
      await waitFor(() => !h.runner.runningJobs().includes(id) || undefined, 'the runner done');
      await waitFor(() => h.cgroupDirs(id).length === 0 || undefined, 'the cgroup gone');
    }, 60_000);
  },
);
