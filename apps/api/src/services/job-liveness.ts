/**
 * The API's reconciler of job records with the nodes that run them: a job recorded as started
 * (INITIALIZING/RUNNING) whose process cannot exist any more ends FAILED (node lost) with the
 * reason, rather than staying RUNNING forever. Two cases:
 * - its node went silent (no heartbeat for NODE_OFFLINE_AFTER_MS): the node or its agent died;
 * - its node is alive but a heartbeat taken well after the job was recorded RUNNING does not list
 *   it: the agent lost the job (restarted, or crashed it half-way) without recording its end.
 *   An agent removes a job from its list only after recording its end, so a live node's heartbeat
 *   can never omit a job that still runs there.
 */
import { NODE_OFFLINE_AFTER_MS, type JobRecord, type NodeView } from '@joblet/spec';

/**
 * How long after a job's `startedAt` a heartbeat must have been taken before its silence about
 * the job counts (ms): covers the clock skew between the agent and the API's reading.
 */
export const LIVENESS_GRACE_MS = 2_000;

/**
 * Why `job` (recorded on `node`, which may be unknown) can no longer be running, as the message
 * of its FAILED (node lost) record; undefined when it may well be running.
 */
export function lostJobMessage(
  job: JobRecord,
  node: NodeView | undefined,
  now = Date.now(),
): string | undefined {
  if ((job.state !== 'RUNNING' && job.state !== 'INITIALIZING') || !job.node) return undefined;
  const beat = node ? Date.parse(node.lastHeartbeat) : -Infinity;
  if (now - beat > NODE_OFFLINE_AFTER_MS) {
    return `node ${job.node} stopped answering while the job ran`;
  }
  if (job.state !== 'RUNNING' || !node?.runningJobs || node.runningJobs.includes(job.id)) {
    return undefined;
  }
  const started = Date.parse(job.startedAt ?? '');
  if (Number.isNaN(started) || beat < started + LIVENESS_GRACE_MS) return undefined;
  return (
    `node ${job.node} is up but no longer runs the job (its agent lost it without recording ` +
    'its end); its exit is unknown'
  );
}
