/**
 * Submitting, stopping and cancelling jobs. A job is validated (runtime exists for an online
 * node's architecture, limits within bounds, uploads safe and bounded, `network: host` only from
 * an admin), counted against its submitter's active-jobs quota, recorded, and queued on
 * `jobs-<arch>` — or on a node's own queue (job-routing.ts) — as a delayed BullMQ job when
 * scheduled. Listings carry summaries; the full record is `get`.
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import {
  FINAL_JOB_STATES,
  UPLOAD_LIMITS,
  parseSchedule,
  roleSatisfies,
  networkKind,
  summarizeJob,
  type Arch,
  type JobRecord,
  type JobRequestParsed,
  type JobSummary,
  type Role,
} from '@joblet/spec';
import {
  JobStore,
  RUN_JOB,
  enqueue,
  jobQueueName,
  nodeQueueName,
  type Keys,
  type NetworkRegistry,
  type RedisClient,
} from '@joblet/queue';
import { ApiError } from '../plugins/errors.js';
import { lostJobMessage } from './job-liveness.js';
import { routeJob } from './job-routing.js';
import type { DefaultRuntime } from './default-runtime.js';
import type { NodeService } from './node-service.js';
import type { QuotaService } from './quota-service.js';
import type { RuntimeService } from './runtime-service.js';

/** What submitting, stopping and cancelling jobs uses. */
export interface JobServiceDeps {
  redis: RedisClient;
  keys: Keys;
  /** BullMQ prefix of the `jobs-<arch>` and `node-<name>` queues this service opens. */
  prefix: string;
  /** Seconds a finished job's record stays in Redis. */
  jobRetentionS: number;
  runtimes: Pick<RuntimeService, 'resolve'>;
  /** The runtime of jobs that name none. */
  defaultRuntime: Pick<DefaultRuntime, 'ref' | 'resolve'>;
  nodes: Pick<NodeService, 'list' | 'get'>;
  quotas: Pick<QuotaService, 'reserve' | 'release'>;
  networks: Pick<NetworkRegistry, 'get'>;
  /** The network of jobs that name none (API_DEFAULT_NETWORK); default `none`. */
  defaultNetwork?: string;
}

/** Who submits: the role decides what they may ask for, `owner` whose quota counts the job. */
export interface Submitter {
  role: Role;
  /** Undefined: counted against no quota (the local admin of API_AUTH=none). */
  owner?: string;
}

/** Operator bounds on what a job may ask for. */
export interface JobBounds {
  maxMemoryMB: number;
  maxCpuPercent: number;
  maxTimeoutS: number;
}
export const DEFAULT_JOB_BOUNDS: JobBounds = {
  maxMemoryMB: 64 * 1024,
  maxCpuPercent: 6400,
  maxTimeoutS: 24 * 3600,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Ids an ambiguous prefix's error lists. */
const AMBIGUOUS_SHOWN = 5;

export class JobService {
  readonly jobs: JobStore;
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly s: JobServiceDeps,
    private readonly bounds: JobBounds = DEFAULT_JOB_BOUNDS,
  ) {
    this.jobs = new JobStore(s.redis, s.keys, s.jobRetentionS);
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.s.redis, prefix: this.s.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }

  async submit(asked: JobRequestParsed, who: Submitter): Promise<JobRecord> {
    const req = { ...asked, network: asked.network ?? this.s.defaultNetwork ?? 'none' };
    // The node's network, loopback included (Redis, the API as the local admin): admins only.
    if (req.network === 'host' && !roleSatisfies(who.role, 'admin')) {
      throw new ApiError(
        403,
        'FORBIDDEN',
        `network host requires the admin role (role ${who.role} may use none, isolated, bridge or a custom network)`,
        [{ field: 'network', message: 'host requires the admin role' }],
      );
    }
    // Custom networks are farm-wide: every node realises one when a job of it starts there.
    if (networkKind(req.network) === 'bridge' && !(await this.s.networks.get(req.network))) {
      throw new ApiError(
        400,
        'BAD_REQUEST',
        `network ${req.network} does not exist: create it with rnx network create ${req.network} --cidr <range>, or use none, isolated or bridge`,
        [{ field: 'network', message: `no network ${req.network}` }],
      );
    }
    this.checkBounds(req);
    const uploads = req.uploads.map((u) => ({
      path: u.path,
      bytes: Buffer.byteLength(u.content, 'base64'),
    }));
    const total = uploads.reduce((n, u) => n + u.bytes, 0);
    if (total > UPLOAD_LIMITS.totalBytes) {
      throw new ApiError(
        413,
        'PAYLOAD_TOO_LARGE',
        `uploads total ${total} bytes; the limit is ${UPLOAD_LIMITS.totalBytes}`,
        [{ field: 'uploads', message: `over ${UPLOAD_LIMITS.totalBytes} bytes` }],
      );
    }
    const dup = findDuplicate(req.uploads.map((u) => u.path));
    if (dup)
      throw new ApiError(400, 'BAD_REQUEST', `upload path given twice: ${dup}`, [
        { field: 'uploads', message: `duplicate ${dup}` },
      ]);

    const ref = req.runtime ?? this.s.defaultRuntime.ref;
    const entry = req.runtime
      ? await this.s.runtimes.resolve(req.runtime)
      : await this.s.defaultRuntime.resolve();
    const runtimeArches = Object.keys(entry.arches) as Arch[];
    const nodes = (await this.s.nodes.list()).filter((n) => n.online);
    const { arch, pinned } = await routeJob(
      this.s,
      req,
      runtimeArches,
      nodes,
      `${entry.name}@${entry.version}`,
    );

    let scheduledFor: Date | undefined;
    if (req.schedule) {
      const parsed = parseSchedule(req.schedule);
      if ('error' in parsed)
        throw new ApiError(400, 'BAD_REQUEST', `schedule: ${parsed.error}`, [
          { field: 'schedule', message: parsed.error },
        ]);
      scheduledFor = parsed.at;
    }
    const id = randomUUID();
    const record: JobRecord = {
      id,
      state: scheduledFor ? 'SCHEDULED' : 'QUEUED',
      command: req.command,
      args: req.args,
      runtime: { ref, name: entry.name, version: entry.version },
      arch,
      pinnedNode: pinned,
      network: req.network,
      limits: req.limits,
      volumes: req.volumes,
      env: Object.keys(req.env),
      uploads,
      createdAt: new Date().toISOString(),
      scheduledFor: scheduledFor?.toISOString(),
    };
    // The environment's values and the uploads travel beside the record, not in it: the record is
    // what every reader sees.
    const secrets = JSON.stringify({ env: req.env, uploads: req.uploads });
    // The slot is freed when the job ends (JobStore) or, until it is recorded, here.
    await this.s.quotas.reserve('jobs-active', who.owner, id);
    try {
      await this.s.redis.set(this.s.keys.jobUploads(id), secrets, 'EX', secretsTtlS(scheduledFor));
      await this.jobs.create(record);
    } catch (err) {
      await this.s.quotas.release('jobs-active', id);
      await this.s.redis.del(this.s.keys.jobUploads(id));
      throw err;
    }
    const queueName = pinned ? nodeQueueName(pinned) : jobQueueName(arch);
    try {
      await enqueue(
        this.queue(queueName),
        RUN_JOB,
        { jobId: id },
        {
          delay: scheduledFor ? Math.max(0, scheduledFor.getTime() - Date.now()) : undefined,
        },
      );
    } catch (err) {
      await this.jobs.transition(id, 'FAILED', {
        reason: 'start-failed',
        message: `could not queue: ${(err as Error).message}`,
      });
      throw new ApiError(503, 'UNAVAILABLE', `could not queue the job: ${(err as Error).message}`);
    }
    return record;
  }

  /**
   * The full id of `idOrPrefix`: itself when it is a whole id, else the one listed job whose id
   * starts with it (Joblet's 8-character short ids). Resolved here rather than in `rnx`, so every
   * client (scripts with curl, the dashboard) gets it, in one round trip, from the one listing
   * that knows every job; a prefix that fits several jobs is refused with their ids.
   */
  async resolveId(idOrPrefix: string): Promise<string> {
    if (UUID.test(idOrPrefix)) return idOrPrefix;
    const ids = await this.jobs.idsStartingWith(idOrPrefix, AMBIGUOUS_SHOWN + 1);
    if (ids.length === 1) return ids[0]!;
    if (ids.length === 0) throw new ApiError(404, 'NOT_FOUND', `job not found: ${idOrPrefix}`);
    const shown = ids.slice(0, AMBIGUOUS_SHOWN);
    const more = ids.length > AMBIGUOUS_SHOWN ? ' and more' : '';
    throw new ApiError(
      409,
      'CONFLICT',
      `job id prefix ${idOrPrefix} is ambiguous: it matches ${shown.join(', ')}${more}; give more characters`,
      shown.map((id) => ({ field: 'id', message: `matches ${id}` })),
    );
  }

  /**
   * The job `idOrPrefix` names (see resolveId). A job whose node went silent while it ran, or
   * whose live node no longer runs it, is FAILED (node lost), never RUNNING forever
   * (job-liveness.ts).
   */
  async get(idOrPrefix: string): Promise<JobRecord> {
    const id = await this.resolveId(idOrPrefix);
    const job = await this.jobs.get(id);
    if (!job) throw new ApiError(404, 'NOT_FOUND', `job not found: ${idOrPrefix}`);
    if ((job.state === 'RUNNING' || job.state === 'INITIALIZING') && job.node) {
      const message = lostJobMessage(job, await this.s.nodes.get(job.node));
      if (message !== undefined) {
        const failed = await this.jobs.transition(id, 'FAILED', {
          reason: 'node-lost',
          message,
          finishedAt: new Date().toISOString(),
        });
        if (failed) return failed;
      }
    }
    return job;
  }

  /** Summaries, newest first: no arguments, environment or uploads (see JobSummary). */
  async list(limit: number, offset: number): Promise<JobSummary[]> {
    return (await this.jobs.list(limit, offset)).map(summarizeJob);
  }

  /** Stops a running job (its whole process tree), or drops a queued one. */
  async stop(idOrPrefix: string): Promise<JobRecord> {
    const job = await this.get(idOrPrefix);
    const id = job.id;
    if (job.state === 'FAILED' && job.reason === 'node-lost') {
      // Declared lost, but its node may still be running it (a Redis outage outlasted its
      // heartbeat): the agent that has it stops it and records its real end (re-attached).
      await this.s.redis.publish(this.s.keys.jobStopChannel, JSON.stringify({ jobId: id }));
      return job;
    }
    if (FINAL_JOB_STATES.includes(job.state))
      throw new ApiError(409, 'CONFLICT', `job ${id} already ended (${job.state})`);
    if (job.state === 'SCHEDULED' || job.state === 'QUEUED') {
      await this.removeQueued(job);
      const stopped = await this.jobs.transition(
        id,
        job.state === 'SCHEDULED' ? 'CANCELED' : 'STOPPED',
        {
          reason: job.state === 'SCHEDULED' ? 'canceled' : 'stopped',
          message: 'stopped before it started',
          finishedAt: new Date().toISOString(),
        },
      );
      if (stopped) return stopped;
      return this.get(id);
    }
    await this.s.redis.publish(this.s.keys.jobStopChannel, JSON.stringify({ jobId: id }));
    return job;
  }

  /** Cancels a job that has not started (scheduled or queued). */
  async cancel(idOrPrefix: string): Promise<JobRecord> {
    const job = await this.get(idOrPrefix);
    const id = job.id;
    if (job.state !== 'SCHEDULED' && job.state !== 'QUEUED') {
      throw new ApiError(
        409,
        'CONFLICT',
        `job ${id} is ${job.state}; only scheduled or queued jobs can be canceled (use stop)`,
      );
    }
    await this.removeQueued(job);
    const canceled = await this.jobs.transition(id, 'CANCELED', {
      reason: 'canceled',
      message: 'canceled by request',
      finishedAt: new Date().toISOString(),
    });
    if (!canceled) return this.get(id);
    return canceled;
  }

  /**
   * Cancels the jobs waiting in `node`'s own queue (pinned there, not started), with `message`;
   * returns their ids. For a node being removed: nothing else would ever take them.
   */
  async cancelQueuedFor(node: string, message: string): Promise<string[]> {
    const waiting = await this.queue(nodeQueueName(node)).getJobs([
      'waiting',
      'delayed',
      'prioritized',
    ]);
    const ids: string[] = [];
    for (const q of waiting) {
      const parsed = RUN_JOB.schema.safeParse(q.data);
      if (q.name !== RUN_JOB.name || !parsed.success) continue;
      await q.remove().catch(() => undefined);
      const { jobId } = parsed.data;
      const done = await this.jobs.transition(jobId, 'CANCELED', {
        reason: 'canceled',
        message,
        finishedAt: new Date().toISOString(),
      });
      if (done) ids.push(jobId);
    }
    return ids;
  }

  private async removeQueued(job: JobRecord): Promise<void> {
    const q = this.queue(job.pinnedNode ? nodeQueueName(job.pinnedNode) : jobQueueName(job.arch));
    const queued = await Job.fromId(q, job.id);
    await queued?.remove().catch(() => undefined);
  }

  private checkBounds(req: JobRequestParsed): void {
    const l = req.limits;
    const over = (field: string, value: number, max: number, unit: string) => {
      throw new ApiError(
        400,
        'BAD_REQUEST',
        `limits.${field}: ${value}${unit} is over this farm's maximum of ${max}${unit}`,
        [{ field: `limits.${field}`, message: `at most ${max}${unit}` }],
      );
    };
    if (l.maxMemoryMB !== undefined && l.maxMemoryMB > this.bounds.maxMemoryMB)
      over('maxMemoryMB', l.maxMemoryMB, this.bounds.maxMemoryMB, ' MB');
    if (l.maxCpuPercent !== undefined && l.maxCpuPercent > this.bounds.maxCpuPercent)
      over('maxCpuPercent', l.maxCpuPercent, this.bounds.maxCpuPercent, '%');
    if (l.timeoutS !== undefined && l.timeoutS > this.bounds.maxTimeoutS)
      over('timeoutS', l.timeoutS, this.bounds.maxTimeoutS, ' s');
  }
}

function findDuplicate(paths: string[]): string | undefined {
  const seen = new Set<string>();
  for (const p of paths) {
    if (seen.has(p)) return p;
    seen.add(p);
  }
  return undefined;
}

/** How long a job's environment and uploads are kept after the time it is due to start (s). */
export const JOB_SECRETS_GRACE_S = 7 * 24 * 3600;

/**
 * The expiry of a job's `{ env, uploads }`: the grace after its start time, so a job scheduled
 * up to MAX_SCHEDULE_AHEAD_S (366 days) ahead still finds them when it starts. (The agent deletes
 * them when the job ends; the expiry only catches a job that never starts.)
 */
export function secretsTtlS(scheduledFor: Date | undefined, now = Date.now()): number {
  const aheadS = scheduledFor ? Math.max(0, Math.ceil((scheduledFor.getTime() - now) / 1000)) : 0;
  return aheadS + JOB_SECRETS_GRACE_S;
}
