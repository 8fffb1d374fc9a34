/**
 * Execution nodes as the farm sees them: what an agent registers, its heartbeat, and what it
 * reports per runtime. Agents write these to Redis; the API reads them.
 */
import { z } from 'zod';
import { ArchName } from './build.js';
import { NodeSchedule } from './node-schedule.js';

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
  /**
   * The CPUs the agent may pin jobs to (`--cpu-cores`), as a CPU list (`0-1`): its own
   * `Cpus_allowed_list`. The API refuses a job whose cores no node has; absent (an agent that
   * does not report it): the node is not ruled out, and its agent refuses such a job itself.
   */
  cpus: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/)
    .optional(),
  /**
   * Ids of the jobs the agent runs (taken, not yet recorded ended) as of `lastHeartbeat`. The API
   * fails a RUNNING job of a live node that no longer lists it. Absent: an agent that does not
   * report it (nothing is concluded).
   */
  runningJobs: z.array(z.string()).optional(),
  /**
   * When its agent stopped cleanly (its final heartbeat): the node is offline from then on, not
   * only once its heartbeat is stale. A restarted agent's record has none.
   */
  stoppedAt: z.string().optional(),
});
export type NodeInfo = z.infer<typeof NodeInfo>;

export const RUNTIME_INSTALL_STATES = ['syncing', 'installed', 'failed', 'removing'] as const;
export const RuntimeInstallState = z.enum(RUNTIME_INSTALL_STATES);

/**
 * Why a node refused or could not install a runtime. Agents report it, the API passes it on,
 * `rnx runtime info` shows it per node.
 */
export const InstallFailureCode = {
  /** The index entry or manifest is missing, invalid, or they disagree. */
  BadManifest: 'BAD_MANIFEST',
  /**
   * The manifest has no valid signature by a key the node trusts (AGENT_TRUSTED_KEYS): unsigned,
   * signed by an unknown key, or changed after signing (even when its checksums match).
   */
  BadSignature: 'BAD_SIGNATURE',
  /** The archive's sha256 is not the manifest's (tampered or corrupted in the store). */
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  /** The extracted tree's hash is not the manifest's. */
  TreeHashMismatch: 'TREE_HASH_MISMATCH',
  /**
   * An archive member breaks the tree rules: absolute, `..`, device node, escaping link,
   * setuid/setgid, writable by others, not owned by 0:0. `details.entry` names the first one.
   */
  UnsafeEntry: 'UNSAFE_ENTRY',
  /** Larger than AGENT_MAX_ARTIFACT_MB. */
  TooLarge: 'TOO_LARGE',
  /** The install would leave less free disk than AGENT_MIN_FREE_MB. */
  NoDisk: 'NO_DISK',
  /** The archive does not hold a runtime: runtime.yml missing, invalid or for another runtime. */
  InvalidRuntime: 'INVALID_RUNTIME',
  /** The store could not be read (network, permissions). */
  StoreFailed: 'STORE_FAILED',
  /** tar/zstd or the file system failed (corrupt archive, disk full, ...). */
  ExtractFailed: 'EXTRACT_FAILED',
} as const;
export type InstallFailureCode = (typeof InstallFailureCode)[keyof typeof InstallFailureCode];

/** An install failure as data: `{ code, message, details }`. */
export const InstallFailureData = z.object({
  code: z.enum(Object.values(InstallFailureCode)),
  /** For an operator: what was refused and why (which checksum, which entry, which keys). */
  message: z.string(),
  details: z
    .object({
      /** The first offending archive member (UNSAFE_ENTRY). */
      entry: z.string().optional(),
      /** Full key ids (sha256 of the public key DER) of the manifest's signatures (BAD_SIGNATURE). */
      signedBy: z.array(z.string()).optional(),
      /** Full key ids the node trusts (BAD_SIGNATURE). */
      trustedKeys: z.array(z.string()).optional(),
    })
    .optional(),
});
export type InstallFailureData = z.infer<typeof InstallFailureData>;

/** One runtime on one node. */
export const NodeRuntimeStatus = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  state: RuntimeInstallState,
  /** Tree hash of the installed runtime (equal to the manifest's when installed). */
  treeHash: z.string().optional(),
  /** Why it failed, when it did (the failure's message; kept for older readers). */
  error: z.string().optional(),
  /** Why it failed, as data, when it did. */
  failure: InstallFailureData.optional(),
  updatedAt: z.string(),
});
export type NodeRuntimeStatus = z.infer<typeof NodeRuntimeStatus>;

/** A node as the API shows it. */
export const NodeView = NodeInfo.extend({
  online: z.boolean(),
  runtimes: z.array(NodeRuntimeStatus),
  /** Set while an operator keeps new jobs off the node (cordoned or draining). */
  schedule: NodeSchedule.optional(),
});
export type NodeView = z.infer<typeof NodeView>;
