/**
 * Queue names and Redis keys: the only place they are spelled. Work that is per-architecture has
 * the architecture in its name, so nothing downstream can assume amd64.
 *
 * BullMQ refuses ':' in queue names, so queues are `build-amd64`, not the architecture page's
 * `build:amd64`.
 */
import type { Arch } from '@joblet/spec';

/** Default key prefix. Tests use their own; on Redis Cluster hash-tag it (`{joblet}`). */
export const DEFAULT_PREFIX = 'joblet';

/** Per-architecture build queue consumed by that arch's worker pool. */
export function buildQueueName(arch: Arch): string {
  return `build-${arch}`;
}

/** Parents of build flows: publish the index entry once every arch child succeeded. */
export const PUBLISH_QUEUE = 'publish';

/** Per-architecture job queue: any online node of that arch takes the job. */
export function jobQueueName(arch: Arch): string {
  return `jobs-${arch}`;
}

/** A node's own queue: work pinned to that node (runtime tests, pinned jobs). */
export function nodeQueueName(node: string): string {
  return `node-${node}`;
}

/** BullMQ job names (their payloads, ids and options: `protocol/`). */
export const JOB_NAMES = {
  build: 'build-runtime',
  publish: 'publish-runtime',
  runtimeTest: 'runtime-test',
  runJob: 'run-job',
  volumeCreate: 'volume-create',
  volumeRemove: 'volume-remove',
} as const;

/** One of {@link JOB_NAMES}: what a BullMQ job of the farm is called. */
export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

/** Redis keys of our own (besides BullMQ's), all under one prefix. */
export class Keys {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {}

  /** Hash: `meta` (JSON BuildMeta) and one `arch:<arch>` field (JSON ArchStatus) per arch. */
  build(buildId: string): string {
    return `${this.prefix}:build:${buildId}`;
  }
  /** Stream of BuildEvent entries for one build (SSE replays it; Last-Event-ID is the entry id). */
  buildEvents(buildId: string): string {
    return `${this.prefix}:build:${buildId}:events`;
  }
  /** Sorted set of build ids by submission time (ms), newest last. */
  get builds(): string {
    return `${this.prefix}:builds`;
  }
  /** String: submission key → build id while a build with that key is in flight (dedup). */
  inflight(submissionKey: string): string {
    return `${this.prefix}:inflight:${submissionKey}`;
  }
  /** Pub/sub channel on which cancel requests are broadcast to workers. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }
  /** Farm-wide event stream (`runtime.published`, `runtime.removed`) that agents follow by cursor. */
  get farmEvents(): string {
    return `${this.prefix}:events`;
  }
  /** String: JSON JobRecord. */
  job(jobId: string): string {
    return `${this.prefix}:job:${jobId}`;
  }
  /** Stream of JobEvent entries: output lines and state changes (SSE replays it). */
  jobEvents(jobId: string): string {
    return `${this.prefix}:job:${jobId}:events`;
  }
  /**
   * String: JSON `{ env, uploads }` — the environment values and uploaded files of a job, kept
   * out of the record every reader sees; deleted when the job ends.
   */
  jobUploads(jobId: string): string {
    return `${this.prefix}:job:${jobId}:uploads`;
  }
  /** Sorted set of job ids by submission time (ms). */
  get jobs(): string {
    return `${this.prefix}:jobs`;
  }
  /** Pub/sub channel on which stop requests reach the agents: `{ jobId }`. */
  get jobStopChannel(): string {
    return `${this.prefix}:job-stop`;
  }
  /** Set of volume names per node (the agent owns the directories). */
  volumes(node: string): string {
    return `${this.prefix}:node:${node}:volumes`;
  }
  /** Hash: custom network name → JSON `{ cidr, createdAt }` (farm-wide; network-registry.ts). */
  get networks(): string {
    return `${this.prefix}:networks`;
  }
  /** Hash: address → `<node> <jobId>`, the addresses of one network's running jobs. */
  networkAddresses(network: string): string {
    return `${this.prefix}:network:${network}:addresses`;
  }
  /** Set: `<network> <address>` held by one node's jobs (released together when it restarts). */
  nodeNetworkAddresses(node: string): string {
    return `${this.prefix}:node:${node}:network-addresses`;
  }
  /** Hash: volume name → size in bytes, per node, for the sized ones (`--size`). */
  volumeSizes(node: string): string {
    return `${this.prefix}:node:${node}:volume-sizes`;
  }
  /** Set of registered node names (nodes stay listed when offline). */
  get nodes(): string {
    return `${this.prefix}:nodes`;
  }
  /** String: JSON NodeInfo of one node, rewritten on every heartbeat. */
  node(name: string): string {
    return `${this.prefix}:node:${name}`;
  }
  /** String: JSON NodeSchedule while an operator keeps new jobs off the node (cordon, drain). */
  nodeSchedule(name: string): string {
    return `${this.prefix}:node:${name}:schedule`;
  }
  /** Hash: `<name>@<version>` → JSON NodeRuntimeStatus, per node. */
  nodeRuntimes(name: string): string {
    return `${this.prefix}:node:${name}:runtimes`;
  }
  /** String: the agent's cursor in `farmEvents` (last entry id handled), so a restart misses nothing. */
  nodeCursor(name: string): string {
    return `${this.prefix}:node:${name}:cursor`;
  }
  /** Hash: farm-wide counters, field `metric{labels}` → count (see `redis-metrics.ts`). */
  get metricCounters(): string {
    return `${this.prefix}:metrics:counters`;
  }
  /** Hash: one histogram, fields `<labels>|<bucket index>`, `<labels>|sum`, `<labels>|count`. */
  metricHistogram(name: string): string {
    return `${this.prefix}:metrics:hist:${name}`;
  }
  /** Hash: job state → number of jobs in it now (non-final states; kept by `JobStore`). */
  get jobStateCounts(): string {
    return `${this.prefix}:metrics:job-states`;
  }
  /** Hash: the retention policy in seconds (`build`, `failedBuild`, `job`), set by the API. */
  get retention(): string {
    return `${this.prefix}:retention`;
  }
  /** Set: what one identity holds against one quota (job ids, build ids, `<node>/<volume>`). */
  quota(kind: string, owner: string): string {
    return `${this.prefix}:quota:${kind}:${owner}`;
  }
  /** String: the identity an item of a quota is counted against (its release looks it up). */
  quotaOwner(kind: string, item: string): string {
    return `${this.prefix}:quota-owner:${kind}:${item}`;
  }
  /** Hash: worker name → JSON WorkerStatus (its arch and free disk), rewritten every few seconds. */
  get workers(): string {
    return `${this.prefix}:workers`;
  }
  /** String: held while a garbage collection deletes (one at a time across API replicas). */
  get gcLock(): string {
    return `${this.prefix}:gc:lock`;
  }
}
