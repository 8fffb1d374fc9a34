/**
 * Execution nodes as the farm sees them: what an agent registers, its heartbeat, and what it
 * reports per runtime. Agents write these to Redis; the API reads them.
 */
import { z } from 'zod';
import { ArchName } from './build.js';

/** A node whose heartbeat is older than this is shown offline (never silently forgotten). */
export const NODE_OFFLINE_AFTER_MS = 30_000;

export const NodeInfo = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  arch: ArchName,
  labels: z.record(z.string(), z.string()).default({}),
  /** How many jobs it runs at once. */
  capacity: z.number().int().positive(),
  agentVersion: z.string(),
  runtimesDir: z.string(),
  startedAt: z.string(),
  /** Updated on every heartbeat. */
  lastHeartbeat: z.string(),
  disk: z.object({ freeBytes: z.number(), totalBytes: z.number() }).optional(),
  /**
   * The operator lets `network: host` jobs run here (AGENT_ALLOW_HOST_NETWORK). Absent (an agent
   * that does not report it) means no: the API sends host jobs only to nodes that say yes.
   */
  allowHostNetwork: z.boolean().default(false),
});
export type NodeInfo = z.infer<typeof NodeInfo>;

export const RUNTIME_INSTALL_STATES = ['syncing', 'installed', 'failed', 'removing'] as const;
export const RuntimeInstallState = z.enum(RUNTIME_INSTALL_STATES);

/** One runtime on one node. */
export const NodeRuntimeStatus = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  state: RuntimeInstallState,
  /** Tree hash of the installed runtime (equal to the manifest's when installed). */
  treeHash: z.string().optional(),
  /** Why it failed, when it did. */
  error: z.string().optional(),
  updatedAt: z.string(),
});
export type NodeRuntimeStatus = z.infer<typeof NodeRuntimeStatus>;

/** A node as the API shows it. */
export const NodeView = NodeInfo.extend({
  online: z.boolean(),
  runtimes: z.array(NodeRuntimeStatus),
});
export type NodeView = z.infer<typeof NodeView>;
