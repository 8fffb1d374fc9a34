/**
 * Follows the farm's event stream (`keys.farmEvents`) with a cursor persisted in
 * `keys.nodeCursor(node)`, so events published while the agent was down are handled when it
 * comes back. Without a stored cursor it starts at the stream's end as of `init()`: the start-up
 * reconcile, which runs after `init()`, covers everything before that point.
 *
 * Events are hints, the index is the truth: the handler re-reads the index, so replaying an old
 * event is harmless and a trimmed stream loses nothing the periodic reconcile does not repair.
 */
import type { Logger } from '@joblet/logging';
import type { Keys, RedisClient } from '@joblet/queue';
import { FarmEvent } from '@joblet/spec';

export interface EventFollowerOptions {
  /** Connection for ordinary commands (cursor reads/writes). */
  redis: RedisClient;
  /** A connection of its own: the blocking XREAD holds it. */
  blocking: RedisClient;
  keys: Keys;
  node: string;
  log: Logger;
  onEvent: (e: FarmEvent, id: string) => void;
  /** Longest single blocking read (ms). Default 5000. */
  blockMs?: number;
}

export class EventFollower {
  private cursor = '0-0';
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: EventFollowerOptions) {}

  /** Where following starts: the stored cursor, else the current end of the stream. */
  async init(): Promise<string> {
    const stored = await this.o.redis.get(this.o.keys.nodeCursor(this.o.node));
    if (stored && /^\d+-\d+$/.test(stored)) {
      this.cursor = stored;
    } else {
      const last = await this.o.redis.xrevrange(this.o.keys.farmEvents, '+', '-', 'COUNT', 1);
      this.cursor = last[0]?.[0] ?? '0-0';
    }
    return this.cursor;
  }

  start(): void {
    this.loop ??= this.run();
  }

  get position(): string {
    return this.cursor;
  }

  /** Stops following; the blocking read in flight is cut short by closing its connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.o.blocking.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { redis, blocking, keys, log } = this.o;
    while (!this.stopped) {
      try {
        const res = await blocking.xread(
          'COUNT',
          100,
          'BLOCK',
          this.o.blockMs ?? 5000,
          'STREAMS',
          keys.farmEvents,
          this.cursor,
        );
        if (this.stopped) return;
        for (const [, rows] of res ?? []) {
          for (const [id, fields] of rows) {
            // Every entry advances the cursor, even one that is not a valid event, or the same
            // entry would be read again forever.
            this.cursor = id;
            const event = decode(fields);
            if (event) this.o.onEvent(event, id);
            else log.warn({ id }, 'ignoring an invalid farm event');
          }
        }
        if (res) await redis.set(keys.nodeCursor(this.o.node), this.cursor);
      } catch (err) {
        if (this.stopped) return;
        log.warn({ err }, 'reading farm events failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

function decode(fields: string[]): FarmEvent | undefined {
  const i = fields.indexOf('e');
  if (i < 0 || i % 2 !== 0) return undefined;
  try {
    const parsed = FarmEvent.safeParse(JSON.parse(fields[i + 1] ?? 'null'));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
