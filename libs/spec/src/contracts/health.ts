/** `GET /readyz`: whether this API replica can serve — Redis and the artifact store answer. */
import { z } from 'zod';

export const ReadyCheck = z.object({
  ok: z.boolean(),
  /** Round trip in milliseconds. */
  ms: z.number(),
  /** Why it failed: a short reason, never a credential. */
  error: z.string().optional(),
});

export const ReadyResponse = z.object({
  status: z.enum(['ready', 'unavailable']),
  /** The dependencies that are down, e.g. `["redis"]`. */
  down: z.array(z.string()),
  checks: z.object({ redis: ReadyCheck, store: ReadyCheck }),
});
export type ReadyResponse = z.infer<typeof ReadyResponse>;
