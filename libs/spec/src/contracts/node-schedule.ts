/**
 * Whether a node takes new jobs, as an operator sets it (`rnx node cordon|drain|uncordon`), like
 * `kubectl cordon` and `nomad node drain`: a cordoned node runs what it has and takes nothing
 * new; a draining one also has its jobs stopped once the deadline passes (none: they may run to
 * their end). Stored apart from the agent's own record, which the agent rewrites every heartbeat.
 */
import { z } from 'zod';

export const NODE_SCHEDULE_STATES = ['cordoned', 'draining'] as const;

export const NodeSchedule = z.object({
  state: z.enum(NODE_SCHEDULE_STATES),
  /** When it was set. */
  since: z.string(),
  /** The identity that set it. */
  by: z.string(),
  reason: z.string().max(500).optional(),
  /** Draining: when jobs still running are stopped. */
  deadline: z.string().optional(),
});
export type NodeSchedule = z.infer<typeof NodeSchedule>;

/** `POST /v1/nodes/:name/cordon` and `/drain`. */
export const NodeScheduleRequest = z
  .object({
    reason: z.string().max(500).optional(),
    /** Drain only: seconds until running jobs are stopped (absent: they run to their end). */
    deadlineS: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .strict();
export type NodeScheduleRequest = z.infer<typeof NodeScheduleRequest>;

export const NodeNameParams = z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/) });

/** `DELETE /v1/nodes/:name`. */
export const RemoveNodeResponse = z.object({
  node: z.string(),
  /** Jobs that were queued for this node alone, canceled with it. */
  canceledJobs: z.array(z.string()),
  /**
   * The node's own Redis user (`rnx node join`): `revoked`, `none` (it had none), or why it could
   * not be removed (the API's Redis user may not run ACL DELUSER).
   */
  credential: z.string(),
});
export type RemoveNodeResponse = z.infer<typeof RemoveNodeResponse>;
