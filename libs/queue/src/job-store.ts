/**
 * Job records in Redis, shared by the API (which creates them) and the agents (which move them
 * through their states). State changes are also appended to the job's event stream, so an SSE
 * follower sees them in order with the output lines. The same atomic step keeps the farm's job
 * metrics (jobs per live state, finished jobs per state); finished records expire with the
 * farm's published `RetentionPolicy` (else the constructor's `retentionS`), and the listing is
 * capped by count and trimmed by age. A job that ends frees its submitter's slot of the active-jobs
 * quota (quotas.ts), in whichever process records the end.
 */
import type { RedisClient } from './connection.js';
import { FINAL_JOB_STATES, JobRecord, type JobEvent, type JobState } from '@joblet/spec';
import { appendEvent, compactStream } from './event-stream.js';
import { Keys } from './names.js';
import { DEFAULT_BUILD_RETENTION_S, LISTING_GRACE_S } from './build-store.js';
import { releaseQuota } from './quotas.js';
import { counterField, observeHistogram } from './redis-metrics.js';
import { RetentionCache } from './retention.js';

/** How long finished jobs (record, events, uploads) are kept. */
export const DEFAULT_JOB_RETENTION_S = 7 * 24 * 3600;
/** Output lines kept per job: the stream is capped, so the newest lines (the tail) survive. */
export const DEFAULT_JOB_LOG_LINES = 200_000;
export const MAX_LISTED_JOBS = 10_000;

/** SET key new [EX ttl] only if its value is still `old`. */
const CAS_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1`;

/**
 * CAS_SCRIPT plus the job metrics and the state event, atomically with the swap. KEYS: record,
 * state counts, counters, event stream. ARGV[4]/[5]: old and new state; ARGV[6]: the
 * finished-jobs counter field when the new state is final (the old one never is), else '';
 * ARGV[7]: the state/end event (JSON), appended only when the state changes; ARGV[8]: the
 * stream's cap. The event is in the same step as the swap so that a transition repeated after a
 * dropped connection (see untilRedisAnswers) can neither lose the END event nor append it twice.
 */
const TRANSITION_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
if ARGV[4] ~= ARGV[5] then
  redis.call('HINCRBY', KEYS[2], ARGV[4], -1)
  if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[6], 1)
  else redis.call('HINCRBY', KEYS[2], ARGV[5], 1) end
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'e', ARGV[7])
end
return 1`;

/**
 * FAILED (node lost) back to RUNNING, atomically: the record (no expiry), one RUNNING more in
 * the state counts, the event, the stream's expiry removed. The finished-jobs counter keeps its
 * FAILED: a Prometheus counter never goes down. KEYS: record, state counts, event stream. ARGV:
 * old record, new record, the event, the stream's cap.
 */
const REATTACH_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], 'RUNNING', 1)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[3])
redis.call('PERSIST', KEYS[3])
return 1`;

/**
 * Allowed transitions: a final state never changes again (except through
 * {@link JobStore.reattach}, for a job declared lost whose node is still running it).
 */
const NEXT: Record<JobState, JobState[]> = {
  SCHEDULED: ['QUEUED', 'CANCELED', 'INITIALIZING', 'FAILED'],
  QUEUED: ['INITIALIZING', 'CANCELED', 'FAILED', 'STOPPED'],
  INITIALIZING: ['RUNNING', 'FAILED', 'STOPPED'],
  RUNNING: ['COMPLETED', 'FAILED', 'STOPPED'],
  COMPLETED: [],
  FAILED: [],
  STOPPED: [],
  CANCELED: [],
};

/** Options of {@link JobStore.transition}. */
export interface TransitionOptions {
  /**
   * The record exactly as this process last wrote it (a transition's result): the first
   * compare-and-set uses it instead of reading the record (one round trip less).
   */
  from?: JobRecord;
  /**
   * Called as soon as the swap has been written to the connection (each attempt), before its
   * reply: a command sent on the same connection after this runs after the swap (Redis runs a
   * connection's commands in order), so a job's output appended from here on follows its
   * RUNNING event in the stream, and the record is RUNNING (or final) when a reader sees it.
   */
  onSent?: () => void;
}

export class JobStore {
  private readonly retention: RetentionCache;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: Keys = new Keys(),
    readonly retentionS = DEFAULT_JOB_RETENTION_S,
  ) {
    this.retention = new RetentionCache(redis, keys, {
      buildS: DEFAULT_BUILD_RETENTION_S,
      failedBuildS: DEFAULT_BUILD_RETENTION_S,
      jobS: retentionS,
    });
  }

  async create(job: JobRecord): Promise<void> {
    const { jobS } = await this.retention.get();
    const m = this.redis
      .multi()
      .set(this.keys.job(job.id), JSON.stringify(job))
      .zadd(this.keys.jobs, Date.parse(job.createdAt), job.id)
      .zremrangebyrank(this.keys.jobs, 0, -MAX_LISTED_JOBS - 1)
      .zremrangebyscore(this.keys.jobs, '-inf', Date.now() - (jobS + LISTING_GRACE_S) * 1000);
    if (FINAL_JOB_STATES.includes(job.state))
      m.hincrby(this.keys.metricCounters, finishedField(job.state), 1);
    else m.hincrby(this.keys.jobStateCounts, job.state, 1);
    await m.exec();
    await this.event(job.id, { type: 'state', state: job.state });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const raw = await this.redis.get(this.keys.job(jobId));
    if (!raw) return undefined;
    const parsed = JobRecord.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Ids of listed jobs that start with `prefix` (at most `max`), for short job ids. One pass of
   * ZSCAN over the listing (capped at MAX_LISTED_JOBS): the ids are random, so no index by
   * prefix is worth keeping. `prefix` must hold no glob characters (callers pass hex and `-`).
   */
  async idsStartingWith(prefix: string, max = 10): Promise<string[]> {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(
        this.keys.jobs,
        cursor,
        'MATCH',
        `${prefix}*`,
        'COUNT',
        1000,
      );
      for (let i = 0; i < flat.length; i += 2) found.add(flat[i]!);
      cursor = next;
    } while (cursor !== '0' && found.size < max);
    return [...found].slice(0, max);
  }

  async list(limit = 50, offset = 0): Promise<JobRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.jobs, offset, offset + limit - 1);
    const out: JobRecord[] = [];
    for (const id of ids) {
      const j = await this.get(id);
      if (j) out.push(j);
    }
    return out;
  }

  /**
   * Moves a job to `state` with `patch`, refusing transitions out of a final state. Atomic by
   * compare-and-set on the whole record (a Lua script), retried when another process changed it
   * in between; no WATCH, which is unsafe on a shared connection. Returns the new record, or
   * undefined when the transition is not allowed. See {@link TransitionOptions} for `from` (no
   * read first) and `onSent` (writes ordered after this one on the same connection).
   */
  async transition(
    jobId: string,
    state: JobState,
    patch: Partial<JobRecord> = {},
    opts: TransitionOptions = {},
  ): Promise<JobRecord | undefined> {
    const key = this.keys.job(jobId);
    for (let attempt = 0; attempt < 20; attempt++) {
      // The record as the caller last wrote it: the compare-and-set needs no read first; when it
      // changed meanwhile, the swap misses and the next attempt reads it.
      const raw =
        attempt === 0 && opts.from ? JSON.stringify(opts.from) : await this.redis.get(key);
      if (!raw) return undefined;
      const current = JobRecord.parse(JSON.parse(raw));
      if (current.state !== state && !NEXT[current.state].includes(state)) return undefined;
      const next: JobRecord = { ...current, ...patch, state };
      const final = FINAL_JOB_STATES.includes(state);
      const ttlS = final ? (await this.retention.get()).jobS : 0;
      const event: JobEvent = final
        ? {
            type: 'end',
            state,
            exitCode: next.exitCode,
            reason: next.reason,
            message: next.message,
          }
        : { type: 'state', state, node: next.node };
      const swapping = this.redis.eval(
        TRANSITION_SCRIPT,
        4,
        key,
        this.keys.jobStateCounts,
        this.keys.metricCounters,
        this.keys.jobEvents(jobId),
        raw,
        JSON.stringify(next),
        String(ttlS),
        current.state,
        state,
        final ? finishedField(state) : '',
        JSON.stringify(event),
        String(DEFAULT_JOB_LOG_LINES),
      );
      opts.onSent?.();
      const swapped = (await swapping) as number;
      if (swapped !== 1) continue;
      if (final) {
        await this.redis
          .multi()
          .expire(this.keys.jobEvents(jobId), ttlS)
          .del(this.keys.jobUploads(jobId))
          .exec();
        await releaseQuota(this.redis, this.keys, 'jobs-active', jobId);
      }
      if (state === 'RUNNING' && current.state !== 'RUNNING' && next.startLatencyMs !== undefined) {
        await observeHistogram(
          this.redis,
          this.keys,
          'joblet_job_start_latency_seconds',
          {},
          next.startLatencyMs / 1000,
        );
      }
      // Safe to repeat (a retried transition to the same final state runs it again).
      if (final) await compactStream(this.redis, this.keys.jobEvents(jobId), ttlS);
      return next;
    }
    throw new Error(`job ${jobId}: too much contention updating its state`);
  }

  /**
   * Corrects a record that says FAILED (node lost) for a job whose process is in fact running on
   * `node`: it becomes RUNNING again (a `state` event follows the FAILED end in its stream, the
   * metrics move back, the record and stream no longer expire), so the job's real end can be
   * recorded and `stop` reaches it. Only a node-lost record of that node is changed; returns the
   * corrected record, or undefined when it is anything else.
   */
  async reattach(jobId: string, node: string): Promise<JobRecord | undefined> {
    const key = this.keys.job(jobId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(key);
      if (!raw) return undefined;
      const current = JobRecord.parse(JSON.parse(raw));
      if (current.state === 'RUNNING' && current.node === node) return current;
      if (current.state !== 'FAILED' || current.reason !== 'node-lost' || current.node !== node) {
        return undefined;
      }
      const { reason: _r, message: _m, finishedAt: _f, ...rest } = current;
      const next: JobRecord = { ...rest, state: 'RUNNING' };
      const event: JobEvent = { type: 'state', state: 'RUNNING', node };
      const swapped = (await this.redis.eval(
        REATTACH_SCRIPT,
        3,
        key,
        this.keys.jobStateCounts,
        this.keys.jobEvents(jobId),
        raw,
        JSON.stringify(next),
        JSON.stringify(event),
        String(DEFAULT_JOB_LOG_LINES),
      )) as number;
      if (swapped === 1) return next;
    }
    throw new Error(`job ${jobId}: too much contention updating its state`);
  }

  /** Updates fields without changing the state (usage, output counters). */
  async patch(jobId: string, patch: Partial<JobRecord>): Promise<void> {
    const key = this.keys.job(jobId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(key);
      if (!raw) return;
      const current = JobRecord.parse(JSON.parse(raw));
      const next = JSON.stringify({ ...current, ...patch, state: current.state });
      if ((await this.redis.eval(CAS_SCRIPT, 1, key, raw, next, '0')) === 1) return;
    }
  }

  async event(jobId: string, e: JobEvent, maxLen = DEFAULT_JOB_LOG_LINES): Promise<string> {
    return appendEvent(this.redis, this.keys.jobEvents(jobId), e, maxLen);
  }
}

function finishedField(state: JobState): string {
  return counterField('joblet_jobs_finished_total', { state });
}
