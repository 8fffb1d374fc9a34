/**
 * Jobs whose node went away while they were in flight, recorded FAILED (node lost) so they never
 * run twice: a job BullMQ failed as stalled (the node that took it died or lost Redis meanwhile),
 * and the jobs a previous run of this agent was running when it crashed or was killed.
 */
import type { Job } from 'bullmq';
import type { Logger } from '@joblet/logging';
import { RunJobData, type JobStore, type Keys, type RedisClient } from '@joblet/queue';
import { JobRecord } from '@joblet/spec';

const IN_FLIGHT_STATES = new Set(['SCHEDULED', 'QUEUED', 'INITIALIZING', 'RUNNING']);

export interface LostJobDeps {
  store: JobStore;
  redis: RedisClient;
  keys: Keys;
  node: string;
  log: Logger;
  /** This process runs the job now (then it is not lost). */
  running: (jobId: string) => boolean;
}

/** A job BullMQ failed as stalled: FAILED, node lost, unless this process runs it. */
export async function markStalledJob(d: LostJobDeps, job: Job): Promise<void> {
  const data = RunJobData.safeParse(job.data);
  const jobId = data.success ? data.data.jobId : job.id;
  if (!jobId || d.running(jobId)) return;
  try {
    const rec = await d.store.get(jobId);
    if (!rec || !IN_FLIGHT_STATES.has(rec.state)) return;
    const started = rec.state === 'INITIALIZING' || rec.state === 'RUNNING';
    const done = await d.store.transition(jobId, 'FAILED', {
      reason: 'node-lost',
      message: started
        ? `node ${rec.node ?? '?'} stopped answering while the job ran; it is not run again`
        : 'the node that took the job stopped before starting it; submit it again',
      finishedAt: new Date().toISOString(),
    });
    if (done) d.log.warn({ jobId, node: rec.node }, 'job lost with its node');
  } catch (err) {
    d.log.error({ err, jobId }, 'recording a lost job failed');
  }
}

/** Jobs a previous run of this agent on this node was running: FAILED, node lost. */
export async function recoverOrphanJobs(d: LostJobDeps): Promise<void> {
  const ids = await d.redis.zrange(d.keys.jobs, 0, -1);
  let lost = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const raws = await d.redis.mget(chunk.map((id) => d.keys.job(id)));
    for (const raw of raws) {
      if (!raw) continue;
      const rec = JobRecord.safeParse(JSON.parse(raw));
      if (!rec.success) continue;
      const { id, node, state } = rec.data;
      if (node !== d.node || (state !== 'INITIALIZING' && state !== 'RUNNING')) continue;
      if (d.running(id)) continue;
      const done = await d.store.transition(id, 'FAILED', {
        reason: 'node-lost',
        message: `the agent on node ${node} restarted while the job ran; it is not run again`,
        finishedAt: new Date().toISOString(),
      });
      if (done) lost++;
    }
  }
  if (lost > 0) d.log.warn({ jobs: lost }, 'jobs of a previous run recorded as lost');
}
