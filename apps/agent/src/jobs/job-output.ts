// A job's stdout and stderr, line by line as they happen, appended to its event stream as
// `{ type: 'out', stream, line }`. Appends are batched: a line that arrives while the stream is
// idle goes out on the next tick (low latency for the first line); lines that arrive while a
// pipeline is in flight are sent together in the next one (up to `batchLines` XADDs per round
// trip), so a fast writer costs a few round trips per thousand lines, not one per line.
// The stream is capped (lines and bytes): the oldest batches are trimmed (XTRIM MINID), so the
// tail survives. When Redis falls behind, the job's pipes are paused: its writes block, as they
// would on a slow terminal, and the agent's memory stays bounded (lines and characters pending).
// When Redis is away (a restart, a failover), a batch is kept and sent again until Redis answers:
// nothing the job printed is dropped, the job just waits on its pipes once the buffer is full.
// Each batch is one MULTI (all of it lands or none), so a repeated batch is never half in the
// stream.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '@joblet/logging';
import { DEFAULT_JOB_LOG_LINES, untilRedisAnswers, type RedisClient } from '@joblet/queue';
import type { JobEvent } from '@joblet/spec';

type StreamName = 'stdout' | 'stderr';

export interface JobOutputOptions {
  redis: RedisClient;
  /** `keys.jobEvents(jobId)`. */
  key: string;
  /** Lines kept in the stream (the newest). Default DEFAULT_JOB_LOG_LINES (200 000). */
  maxLines?: number;
  /** Characters of line text kept in the stream. Default 64 Mi. */
  maxBytes?: number;
  /** Longer lines are cut into pieces of this many characters. Default 16 384. */
  maxLineChars?: number;
  /** XADDs per pipeline. Default 1000. */
  batchLines?: number;
  /** Pending lines above which the job's pipes are paused. Default 20 000. */
  highWaterLines?: number;
  /** Pending characters above which the job's pipes are paused. Default 8 Mi. */
  highWaterChars?: number;
  /** True once waiting for Redis must stop (the agent's shutdown deadline passed). */
  giveUp?: () => boolean;
  log?: Logger;
}

export interface OutputSummary {
  /** Lines the job printed (after splitting long ones). */
  lines: number;
  /** True when older lines were trimmed from the stream (or Redis refused some of them). */
  truncated: boolean;
  bytes: number;
}

interface Pending {
  stream: StreamName;
  line: string;
}

/** Splits a byte stream into lines as they complete; long lines are cut into pieces. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxChars: number,
  ) {}

  push(chunk: Buffer): void {
    this.emit(this.decoder.write(chunk));
  }

  end(): void {
    this.emit(this.decoder.end());
    if (this.partial.length > 0) this.deliver(this.partial);
    this.partial = '';
  }

  private emit(text: string): void {
    if (text.length === 0) return;
    let data = this.partial + text;
    let start = 0;
    for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
      this.deliverLong(data.slice(start, nl));
      start = nl + 1;
    }
    data = data.slice(start);
    while (data.length > this.maxChars) {
      this.deliver(data.slice(0, this.maxChars));
      data = data.slice(this.maxChars);
    }
    this.partial = data;
  }

  private deliverLong(line: string): void {
    let rest = line.endsWith('\r') ? line.slice(0, -1) : line;
    while (rest.length > this.maxChars) {
      this.onLine(rest.slice(0, this.maxChars));
      rest = rest.slice(this.maxChars);
    }
    this.onLine(rest);
  }

  private deliver(line: string): void {
    this.onLine(line);
  }
}

export class JobOutput {
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly batchLines: number;
  private readonly highWater: number;
  private readonly highWaterChars: number;
  private pending: Pending[] = [];
  /** Characters of the pending lines. */
  private pendingChars = 0;
  private opened = false;
  /** What a resent batch waits for (see {@link open}). */
  private ordered: Promise<unknown> | undefined;
  private flushing: Promise<void> | undefined;
  /** Batches in the stream, oldest first: where each begins, its lines and bytes. */
  private readonly kept: { firstId: string; lines: number; bytes: number }[] = [];
  private keptLines = 0;
  private keptBytes = 0;
  private trimTo: string | undefined;
  private total = 0;
  private bytes = 0;
  private truncated = false;
  private readonly sources: Readable[] = [];
  private readonly ended: Promise<void>[] = [];
  private paused = false;

  constructor(private readonly o: JobOutputOptions) {
    this.maxLines = o.maxLines ?? DEFAULT_JOB_LOG_LINES;
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    this.batchLines = o.batchLines ?? 1000;
    this.highWater = o.highWaterLines ?? 20_000;
    this.highWaterChars = o.highWaterChars ?? 8 * 1024 * 1024;
  }

  /** Reads `source` line by line until it ends; lines wait until {@link open}. */
  attach(source: Readable, stream: StreamName, onLine?: (line: string) => void): void {
    const splitter = new LineSplitter((line) => {
      onLine?.(line);
      this.push(stream, line);
    }, this.o.maxLineChars ?? 16_384);
    this.sources.push(source);
    source.on('data', (chunk: Buffer) => splitter.push(chunk));
    this.ended.push(
      new Promise<void>((resolve) => {
        const done = () => {
          splitter.end();
          resolve();
        };
        source.once('end', done);
        source.once('close', done);
        source.once('error', done);
      }),
    );
  }

  /**
   * Starts appending. Called once the RUNNING transition has been written to the same connection
   * (JobStore.transition's `onSent`): Redis runs it first, so the RUNNING event precedes every
   * line. `ordered` settles once that transition is recorded: a batch sent again after Redis was
   * away waits for it, so a retried line can never overtake a retried RUNNING either.
   */
  open(ordered?: Promise<unknown>): void {
    if (ordered) this.ordered = ordered.catch(() => undefined);
    this.opened = true;
    this.kick();
  }

  /** Waits for the sources to end (at most `waitMs`), appends what is left, and sums up. */
  async finish(waitMs = 5_000): Promise<OutputSummary> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, waitMs)));
    await Promise.race([Promise.all(this.ended), timeout]);
    clearTimeout(timer);
    for (const s of this.sources) s.destroy();
    this.resume();
    this.opened = true;
    this.kick();
    while (this.flushing) await this.flushing;
    if (this.trimTo !== undefined) await this.trim();
    return { lines: this.total, truncated: this.truncated, bytes: this.bytes };
  }

  private push(stream: StreamName, line: string): void {
    this.total++;
    this.bytes += line.length;
    this.pending.push({ stream, line });
    this.pendingChars += line.length;
    if (this.overHighWater() && !this.paused) {
      this.paused = true;
      for (const s of this.sources) s.pause();
    }
    this.kick();
  }

  private overHighWater(): boolean {
    return this.pending.length >= this.highWater || this.pendingChars >= this.highWaterChars;
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const s of this.sources) s.resume();
  }

  private kick(): void {
    if (!this.opened || this.flushing || this.pending.length === 0) return;
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Let the rest of the current burst arrive, so it travels in the same pipeline.
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length > 0) {
      let batch: Pending[];
      if (this.pending.length <= this.batchLines) {
        batch = this.pending;
        this.pending = [];
      } else batch = this.pending.splice(0, this.batchLines);
      for (const l of batch) this.pendingChars -= l.line.length;
      await this.append(batch);
      const low = this.pending.length < this.highWater / 2;
      if (this.paused && low && this.pendingChars < this.highWaterChars / 2) this.resume();
    }
  }

  /** Sends one batch, again and again while Redis is unreachable. */
  private async append(batch: Pending[]): Promise<void> {
    const trimTo = this.trimTo;
    this.trimTo = undefined;
    const events = batch.map(({ stream, line }) =>
      JSON.stringify({ type: 'out', stream, line } satisfies JobEvent),
    );
    const bytes = batch.reduce((n, l) => n + l.line.length, 0);
    let results: [Error | null, unknown][] | null;
    // The batch's mark, on its first entry: a resend after a lost reply finds it and does not
    // write the batch twice (readers take only the `e` field of an entry).
    const mark = randomUUID();
    let attempts = 0;
    try {
      results = await untilRedisAnswers(() => this.send(events, trimTo, mark, attempts++ > 0), {
        ...(this.o.giveUp && { giveUp: this.o.giveUp }),
        onRetry: (err, attempt) => {
          if (attempt === 1) {
            this.o.log?.warn({ err, lines: batch.length }, 'job output waits for Redis');
          }
        },
      });
    } catch (err) {
      results = null;
      this.o.log?.warn({ err, lines: batch.length }, 'appending job output failed');
    }
    const firstId = results?.find(([err, id]) => !err && typeof id === 'string')?.[1];
    if (typeof firstId !== 'string') {
      this.truncated = true; // lost: Redis refused the whole batch (not for being away)
      return;
    }
    if (results!.some(([err]) => err)) this.truncated = true;
    this.kept.push({ firstId, lines: batch.length, bytes });
    this.keptLines += batch.length;
    this.keptBytes += bytes;
    let trimmed = false;
    while (
      this.kept.length > 1 &&
      (this.keptLines > this.maxLines || this.keptBytes > this.maxBytes)
    ) {
      const old = this.kept.shift()!;
      this.keptLines -= old.lines;
      this.keptBytes -= old.bytes;
      trimmed = true;
    }
    if (trimmed) {
      this.truncated = true;
      this.trimTo = this.kept[0]!.firstId;
    }
  }

  /**
   * One MULTI: the trim due and the batch's XADDs. Throws when Redis is unreachable, so that
   * untilRedisAnswers sends it again; other errors come back per command.
   */
  private async send(
    events: string[],
    trimTo: string | undefined,
    mark: string,
    resend: boolean,
  ): Promise<[Error | null, unknown][] | null> {
    if (resend) {
      await this.ordered;
      const landed = await this.landed(mark, events.length);
      if (landed) return landed;
    }
    const m = this.o.redis.multi();
    if (trimTo !== undefined) m.xtrim(this.o.key, 'MINID', trimTo);
    events.forEach((e, i) =>
      i === 0 ? m.xadd(this.o.key, '*', 'e', e, 'b', mark) : m.xadd(this.o.key, '*', 'e', e),
    );
    const results = await m.exec();
    const down = results?.find(([err]) => err !== null)?.[0];
    if (results === null) throw new Error('Connection is closed. (MULTI aborted)');
    if (down && results.every(([err]) => err !== null)) throw down;
    return trimTo === undefined ? results : results.slice(1);
  }

  /**
   * The ids of a batch that an earlier attempt wrote although its reply was lost (Redis applied
   * the MULTI, then the connection dropped), found by its mark among the newest entries.
   */
  private async landed(mark: string, n: number): Promise<[Error | null, unknown][] | undefined> {
    const recent = await this.o.redis.xrevrange(this.o.key, '+', '-', 'COUNT', n + 200);
    const at = recent.findIndex(
      ([, fields]) => fields[fields.indexOf('b') + 1] === mark && fields.includes('b'),
    );
    if (at < 0) return undefined;
    return recent
      .slice(Math.max(0, at - n + 1), at + 1)
      .reverse()
      .map(([id]) => [null, id]);
  }

  private async trim(): Promise<void> {
    const to = this.trimTo!;
    this.trimTo = undefined;
    await this.o.redis.xtrim(this.o.key, 'MINID', to).catch((err: unknown) => {
      this.o.log?.warn({ err }, 'trimming job output failed');
    });
  }
}
