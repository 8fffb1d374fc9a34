/**
 * The API's node calls in flight, so that stopping the API answers them instead of cutting them:
 * `close()` (a `preClose` hook, before the server drops its connections) makes every waiting call
 * answer 503 and remove its request from the node's queue, and waits until each caller's response
 * has been sent.
 */
import type { ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { JobKind, RedisClient } from '@joblet/queue';
import { callNode } from './node-call.js';

export class NodeCalls {
  private readonly stopping = new AbortController();
  private readonly answering = new Set<Promise<void>>();

  constructor(private readonly conn: { redis: RedisClient; prefix: string }) {}

  /** `callNode` for the request whose response is `res` (waited for by `close()`). */
  call<S extends z.ZodType>(
    res: Pick<ServerResponse, 'once'>,
    node: string,
    kind: JobKind<S>,
    data: z.input<S>,
    timeoutMs: number,
  ): Promise<unknown> {
    const answered = new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
    });
    this.answering.add(answered);
    void answered.then(() => this.answering.delete(answered));
    return callNode({ ...this.conn, signal: this.stopping.signal }, node, kind, data, timeoutMs);
  }

  /** Answers every waiting call with 503 and resolves once their responses are sent. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.answering]);
  }
}
