/**
 * Append-only event streams on Redis streams: bounded (approximate MAXLEN) so Redis never grows
 * without limit, read with replay-then-follow semantics for SSE and agent cursors.
 */
import type { RedisClient } from './connection.js';
import type { z } from 'zod';

export interface StreamEntry<T> {
  /** Redis stream entry id (`1712345678901-0`): the SSE event id / agent cursor. */
  id: string;
  event: T;
}

/** Appends one event; `maxLen` caps the stream (approximately, which is O(1) for Redis). */
export async function appendEvent(
  redis: RedisClient,
  key: string,
  event: unknown,
  maxLen = 50_000,
): Promise<string> {
  const id = await redis.xadd(key, 'MAXLEN', '~', String(maxLen), '*', 'e', JSON.stringify(event));
  return id ?? '';
}

/**
 * Rewrites a finished stream compactly (DUMP + RESTORE in one script, with `ttlS` as its expiry).
 * Why: Redis 7 preallocates a new stream node's listpack to `stream-node-max-bytes` (4 KB), so a
 * finished job's log of a few lines would hold ~4.7 KB until it expires; restored, it holds what
 * it needs (~1.4 KB for 7 lines). Only streams of at most `maxEntries` are rewritten — one node's
 * worth, a cheap copy — since the waste is per stream, not per line. Returns whether it did.
 */
export async function compactStream(
  redis: RedisClient,
  key: string,
  ttlS: number,
  maxEntries = 100,
): Promise<boolean> {
  const done = await redis.eval(COMPACT_SCRIPT, 1, key, String(ttlS * 1000), String(maxEntries));
  return done === 1;
}

const COMPACT_SCRIPT = `
if redis.call('XLEN', KEYS[1]) > tonumber(ARGV[2]) then return 0 end
local dumped = redis.call('DUMP', KEYS[1])
if not dumped then return 0 end
redis.call('RESTORE', KEYS[1], ARGV[1], dumped, 'REPLACE')
return 1`;

function decode<S extends z.ZodType>(schema: S, fields: string[]): z.infer<S> | undefined {
  const i = fields.indexOf('e');
  if (i < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(fields[i + 1] ?? 'null');
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Every row with its decoded event, or undefined where it does not decode (kept for the cursor). */
type RawEntry<T> = { id: string; event: T | undefined };

function decodeRows<S extends z.ZodType>(
  schema: S,
  rows: [string, string[]][],
): RawEntry<z.infer<S>>[] {
  return rows.map(([id, fields]) => ({ id, event: decode(schema, fields) }));
}

function decoded<T>(rows: RawEntry<T>[]): StreamEntry<T>[] {
  return rows.filter((r): r is StreamEntry<T> => r.event !== undefined);
}

async function readRaw<S extends z.ZodType>(
  redis: RedisClient,
  key: string,
  schema: S,
  afterId: string,
  count: number,
): Promise<RawEntry<z.infer<S>>[]> {
  const start = afterId === '0' ? '-' : `(${afterId}`;
  return decodeRows(schema, await redis.xrange(key, start, '+', 'COUNT', count));
}

async function waitRaw<S extends z.ZodType>(
  redis: RedisClient,
  key: string,
  schema: S,
  afterId: string,
  blockMs: number,
  count: number,
): Promise<RawEntry<z.infer<S>>[]> {
  const res = await redis.xread(
    'COUNT',
    count,
    'BLOCK',
    blockMs,
    'STREAMS',
    key,
    afterId === '0' ? '0-0' : afterId,
  );
  return res ? res.flatMap(([, rows]) => decodeRows(schema, rows)) : [];
}

/** Entries strictly after `afterId` ('0' = from the start), up to `count`. */
export async function readAfter<S extends z.ZodType>(
  redis: RedisClient,
  key: string,
  schema: S,
  afterId = '0',
  count = 1000,
): Promise<StreamEntry<z.infer<S>>[]> {
  return decoded(await readRaw(redis, key, schema, afterId, count));
}

/**
 * Blocks up to `blockMs` for entries after `afterId`. Needs a connection of its own: a blocking
 * read holds the connection for its whole duration.
 */
export async function waitAfter<S extends z.ZodType>(
  redis: RedisClient,
  key: string,
  schema: S,
  afterId: string,
  blockMs: number,
  count = 1000,
): Promise<StreamEntry<z.infer<S>>[]> {
  return decoded(await waitRaw(redis, key, schema, afterId, blockMs, count));
}

/** Replays everything after `afterId`, then follows until `stop()` says so or `signal` aborts. */
export async function* followStream<S extends z.ZodType>(
  reader: RedisClient,
  follower: RedisClient,
  key: string,
  schema: S,
  opts: {
    afterId?: string;
    signal?: AbortSignal;
    blockMs?: number;
    /** Ends the stream after yielding an event for which this is true. */
    stop?: (e: z.infer<S>) => boolean;
    /** Checked whenever a wait comes back empty: true ends the stream (e.g. the build finished
     * and the client already saw its last event). */
    finished?: () => Promise<boolean>;
  },
): AsyncGenerator<StreamEntry<z.infer<S>>> {
  let cursor = opts.afterId ?? '0';
  // The cursor moves past every entry, decodable or not, so one bad entry never stalls a follower.
  for (;;) {
    const batch = await readRaw(reader, key, schema, cursor, 1000);
    if (batch.length === 0) break;
    for (const entry of batch) {
      cursor = entry.id;
      if (entry.event === undefined) continue;
      yield { id: entry.id, event: entry.event };
      if (opts.stop?.(entry.event)) return;
    }
  }
  while (!opts.signal?.aborted) {
    const batch = await waitRaw(follower, key, schema, cursor, opts.blockMs ?? 5_000, 1000);
    if (batch.length === 0 && (await opts.finished?.())) {
      // The last events may have landed between the wait and the check: drain them first.
      yield* decoded(await readRaw(reader, key, schema, cursor, 1000));
      return;
    }
    for (const entry of batch) {
      cursor = entry.id;
      if (entry.event === undefined) continue;
      yield { id: entry.id, event: entry.event };
      if (opts.stop?.(entry.event)) return;
    }
  }
}
