/**
 * Server-sent events over a hijacked reply: each Redis stream entry becomes one SSE event whose
 * `id` is the entry id, so a client reconnecting with `Last-Event-ID` resumes exactly after it.
 * A comment line every `heartbeatMs` keeps proxies from closing an idle stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamEntry } from '@joblet/queue';
import { identityKey } from '../auth/identity.js';
import { ApiError } from '../plugins/errors.js';

export interface SseOptions {
  heartbeatMs?: number;
}

/** Where to resume: the `Last-Event-ID` header, or `?after=` for clients that cannot set it. */
export function lastEventId(request: FastifyRequest): string {
  const header = request.headers['last-event-id'];
  const query = (request.query as { after?: unknown } | undefined)?.after;
  const id = typeof header === 'string' ? header : typeof query === 'string' ? query : '0';
  return /^\d+-\d+$/.test(id) ? id : '0';
}

export async function sendSse<T extends { type: string }>(
  request: FastifyRequest,
  reply: FastifyReply,
  entries: (signal: AbortSignal) => AsyncIterable<StreamEntry<T>>,
  opts: SseOptions = {},
): Promise<void> {
  // Bounded: each stream holds a socket and a Redis connection until the client leaves. The local
  // admin (API_AUTH=none) is held to the overall limit only.
  const who = request.identity;
  const slot = request.server.streamSlots?.acquire(
    who ? identityKey(who) : `ip:${request.ip}`,
    who?.kind !== 'local',
  );
  if (slot && !slot.ok) throw new ApiError(429, 'RATE_LIMITED', slot.message);
  const abort = new AbortController();
  request.raw.on('close', () => abort.abort());
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': stream start\n\n');
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs ?? 15_000);
  try {
    for await (const { id, event } of entries(abort.signal)) {
      if (abort.signal.aborted) break;
      const ok = res.write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      // A client that stops reading and then goes away never drains: wait for either.
      if (!ok) await drainedOrClosed(res);
    }
  } catch (err) {
    if (!abort.signal.aborted) request.log.error({ err }, 'event stream failed');
  } finally {
    clearInterval(heartbeat);
    abort.abort();
    res.end();
    slot?.release();
  }
}

function drainedOrClosed(res: FastifyReply['raw']): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
