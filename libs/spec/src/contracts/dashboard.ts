/**
 * `GET /v1/dashboard`: everything the `/ui` page shows, in one answer, so a page polling every two
 * seconds costs one request (and one rate-limit slot) instead of five.
 */
import { z } from 'zod';
import { BuildRecord } from './build.js';
import { JobSummary } from './jobs.js';
import { NodeView } from './nodes.js';
import { PoolView } from './pools.js';
import { RuntimeSummary } from './runtimes-api.js';

export const DashboardResponse = z.object({
  generatedAt: z.string(),
  runtimes: z.array(RuntimeSummary),
  /** Newest first. */
  builds: z.array(BuildRecord),
  /** Newest first. */
  jobs: z.array(JobSummary),
  nodes: z.array(NodeView),
  pools: z.array(PoolView),
});
export type DashboardResponse = z.infer<typeof DashboardResponse>;
