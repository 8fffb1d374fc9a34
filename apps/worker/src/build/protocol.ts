/**
 * Messages between a worker and its build child over the IPC channel. Both sides parse what they
 * receive: a child is a separate program, and nothing it says is trusted blindly.
 */
import { z } from 'zod';
import { ArchName, ArtifactInfo, BuildError, CatalogEntry } from '@joblet/spec';
import { BuildJobData } from '@joblet/queue';

/** What a build child needs to know; secrets travel here, never in its environment. */
export const ChildConfig = z.object({
  arch: ArchName,
  workerName: z.string(),
  cacheDir: z.string(),
  workDir: z.string(),
  buildTimeoutS: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
  cpuPercent: z.number().int().positive(),
  pidsMax: z.number().int().positive(),
  storageUrl: z.string(),
  storageAccessKey: z.string().optional(),
  storageSecretKey: z.string().optional(),
  aptMirror: z.string().optional(),
  pipIndexUrl: z.string().optional(),
  npmRegistry: z.string().optional(),
  caBundle: z.string().optional(),
  /** WORKER_BUILD_NETWORK. */
  buildNetwork: z.enum(['isolated', 'host']),
  /** WORKER_BUILD_DNS. */
  buildDns: z.array(z.string()).optional(),
  /** WORKER_BUILD_EGRESS_ALLOW plus the package sources (the start-up network check). */
  buildEgressAllow: z.array(
    z.object({
      net: z.string(),
      family: z.union([z.literal(4), z.literal(6)]),
      port: z.number().optional(),
    }),
  ),
  /** WORKER_BUILD_SUBID_BASE: host ids of the build sandboxes (rootless). */
  buildSubids: z.object({ first: z.number().int(), count: z.number().int() }),
  catalog: z.object({ entries: z.array(CatalogEntry) }),
  logLevel: z.string(),
});
export type ChildConfig = z.infer<typeof ChildConfig>;

/** Worker → child, once, right after the spawn. */
export const StartMessage = z.object({
  type: z.literal('start'),
  job: BuildJobData,
  attempt: z.number().int().positive(),
  config: ChildConfig,
});
export type StartMessage = z.infer<typeof StartMessage>;

/** Child → worker. `result` or `error` is the last message of a child. */
export const ChildMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('phase'), n: z.number(), total: z.number(), name: z.string() }),
  z.object({
    type: z.literal('log'),
    stream: z.enum(['stdout', 'stderr', 'system']),
    line: z.string(),
  }),
  z.object({ type: z.literal('result'), artifact: ArtifactInfo }),
  z.object({ type: z.literal('error'), error: BuildError, retryable: z.boolean() }),
]);
export type ChildMessage = z.infer<typeof ChildMessage>;
