/**
 * A small SSE client (over `http/transport.ts`, so it carries the server's certificates and
 * token) that reconnects with `Last-Event-ID` when the connection drops,
 * so a follower misses nothing and sees nothing twice (the server resumes after that id).
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
  /** Give up after this many consecutive failed connection attempts. */
  maxRetries?: number;
  retryDelayMs?: number;
}

/** Yields events until the server ends a stream cleanly (after its terminal event) or `signal` aborts. */
export async function* followSse(
  server: ServerConfig,
  path: string,
  opts: FollowOptions = {},
): AsyncGenerator<SseEvent> {
  const url = new URL(path, server.url).href;
  let lastId = opts.lastEventId;
  let failures = 0;
  const maxRetries = opts.maxRetries ?? 10;
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
      if (++failures > maxRetries) {
        throw new ServerUnavailableError(
          `lost the event stream ${url}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await sleep(opts.retryDelayMs ?? 500);
      continue;
    }
    // 401, 403, 404, 429: the server's own words (`403: role reader cannot …`).
    if (res.status !== 200) throw await errorFromResponse(res);
    failures = 0;
    let ended = false;
    try {
      for await (const ev of parse(res.body as AsyncIterable<Uint8Array>)) {
        if (ev.id) lastId = ev.id;
        yield ev;
      }
      ended = true;
    } catch (err) {
      if (opts.signal?.aborted) return;
      // Dropped mid-stream: reconnect and resume after the last id seen.
      if (++failures > maxRetries)
        throw new ServerUnavailableError(`lost the event stream ${url}`, { cause: err });
      await sleep(opts.retryDelayMs ?? 500);
    }
    if (ended) return;
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
