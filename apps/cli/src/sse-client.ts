/**
 * A small SSE client (over `http/transport.ts`, so it carries the server's certificates and
 * token) that reconnects with `Last-Event-ID` when the connection drops or the API restarts, with
 * a growing delay, so a follower misses nothing and sees nothing twice (the server resumes after
 * that id).
 */
import { errorFromResponse } from './api-client.js';
import type { ServerConfig } from './config.js';
import { CliError, ServerUnavailableError } from './errors.js';
import { send, type HttpResponse } from './http/transport.js';

export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Resume after this event id. */
  lastEventId?: string;
  /** The stream's last event: a stream that ends cleanly before it is resumed to make sure. */
  isLast?: (ev: SseEvent) => boolean;
  /** Give up when the server has not answered for this long (default 120 s: an API restart,
   * even a slow one under load or a supervisor's backoff, fits). */
  reconnectForMs?: number;
  /** First delay between attempts; it doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** Answers of a proxy or load balancer while the API behind it restarts. */
const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * Yields events until the stream's last event (`isLast`), a clean end after which a resume brings
 * nothing new, or `signal` aborts. Throws ServerUnavailableError when the server stays away
 * longer than `reconnectForMs`, and the server's own error for any other refusal.
 */
export async function* followSse(
  server: ServerConfig,
  path: string,
  opts: FollowOptions = {},
): AsyncGenerator<SseEvent> {
  const url = new URL(path, server.url).href;
  const budgetMs = opts.reconnectForMs ?? 120_000;
  const firstDelay = opts.retryDelayMs ?? 250;
  const maxDelay = opts.maxRetryDelayMs ?? 5_000;
  let lastId = opts.lastEventId;
  /** When the current outage began (undefined while connected), and the next delay. */
  let downSince: number | undefined;
  let delay = firstDelay;
  /** The previous connection ended cleanly without the last event. */
  let cleanEndBefore = false;
  const retryOrThrow = async (err: unknown, what: string) => {
    downSince ??= Date.now();
    if (Date.now() - downSince >= budgetMs) {
      throw new ServerUnavailableError(
        `lost the event stream ${url}: ${what} (no answer for ${Math.round(budgetMs / 1000)} s)`,
        { cause: err },
      );
    }
    await sleep(delay, opts.signal);
    delay = Math.min(maxDelay, delay * 2);
  };
  while (!opts.signal?.aborted) {
    let res: HttpResponse;
    try {
      res = await send(server, {
        method: 'GET',
        path,
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) return;
      // Certificates and usage do not get better by retrying.
      if (err instanceof CliError && !(err instanceof ServerUnavailableError)) throw err;
      await retryOrThrow(err, (err as Error).message);
      continue;
    }
    if (RETRYABLE_STATUS.has(res.status)) {
      res.body.resume();
      await retryOrThrow(undefined, `${res.status} ${res.statusText}`);
      continue;
    }
    // 401, 403, 404, 429: the server's own words (`403: role reader cannot …`).
    if (res.status !== 200) throw await errorFromResponse(res);
    downSince = undefined;
    delay = firstDelay;
    let events = 0;
    try {
      for await (const ev of parse(res.body as AsyncIterable<Uint8Array>)) {
        if (ev.id) lastId = ev.id;
        events++;
        yield ev;
        if (opts.isLast?.(ev)) return;
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      // Dropped mid-stream: reconnect and resume after the last id seen.
      cleanEndBefore = false;
      await retryOrThrow(err, (err as Error).message);
      continue;
    }
    // Ended cleanly. Without a way to tell the last event, or after a resume that brought nothing
    // new, the server has said all it has (e.g. a job that ended without an `end` event).
    if (!opts.isLast || (cleanEndBefore && events === 0)) return;
    cleanEndBefore = true;
  }
}

async function* parse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  let cur: SseEvent = { id: '', event: 'message', data: '' };
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (cur.data !== '') yield cur;
        cur = { id: '', event: 'message', data: '' };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') cur.id = value;
        else if (field === 'event') cur.event = value;
        else if (field === 'data') cur.data = cur.data ? `${cur.data}\n${value}` : value;
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
