/** `GET /v1/pools`: per-architecture worker pools, what autoscalers (KEDA) and the dashboard read. */
import { z } from 'zod';
import { ArchName } from './build.js';

export const PoolView = z.object({
  arch: ArchName,
  /** Builds waiting for a worker of this arch. */
  waiting: z.number().int(),
  /** Builds being built now. */
  active: z.number().int(),
  /** waiting + active: the number of workers that would have nothing queued (what autoscalers target). */
  backlog: z.number().int(),
  /** Live workers consuming this arch's queue. */
  workers: z.number().int(),
  /** Age of the oldest waiting build in seconds (0 when none waits). */
  oldestWaitingAgeS: z.number(),
});
export type PoolView = z.infer<typeof PoolView>;
export const ListPoolsResponse = z.object({ pools: z.array(PoolView) });
