/**
 * Cancel requests: the API publishes `{ buildId }` on `Keys.cancelChannel`; every worker hears it
 * on one shared subscriber connection and stops the matching builds it runs.
 */
import type { RedisClient } from '@joblet/queue';
import { z } from 'zod';
import type { Logger } from '@joblet/logging';

const CancelMessage = z.object({ buildId: z.string() });

export class CancelListener {
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(
    private readonly sub: RedisClient,
    private readonly channel: string,
    private readonly log: Logger,
  ) {
    sub.on('error', (err: Error) => this.log.warn({ err }, 'cancel subscriber connection error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let buildId: string;
      try {
        buildId = CancelMessage.parse(JSON.parse(message)).buildId;
      } catch {
        this.log.warn({ message }, 'ignoring malformed cancel message');
        return;
      }
      for (const fn of this.watchers.get(buildId) ?? []) fn();
    });
  }

  async start(): Promise<void> {
    // A SUBSCRIBE sent before the connection is ready races ioredis's ready check (INFO), which a
    // connection in subscriber mode refuses: the check fails, the client reconnects, and cancels
    // published meanwhile are lost. Subscribe once the connection is ready.
    if (this.sub.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const onReady = () => {
          this.sub.off('end', onEnd);
          resolve();
        };
        const onEnd = () => {
          this.sub.off('ready', onReady);
          reject(new Error('the cancel subscriber connection closed before it was ready'));
        };
        this.sub.once('ready', onReady);
        this.sub.once('end', onEnd);
      });
    }
    await this.sub.subscribe(this.channel);
  }

  /** Calls `fn` when `buildId` is canceled, until the returned function is called. */
  watch(buildId: string, fn: () => void): () => void {
    let set = this.watchers.get(buildId);
    if (!set) this.watchers.set(buildId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(buildId);
    };
  }

  async close(): Promise<void> {
    try {
      await this.sub.unsubscribe(this.channel);
      await this.sub.quit();
    } catch {
      this.sub.disconnect();
    }
  }
}
