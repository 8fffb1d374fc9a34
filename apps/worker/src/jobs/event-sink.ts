/**
 * Appends a build's events in order without waiting for each: ioredis sends commands on one
 * connection in call order, so the stream keeps the order of `push` while many lines are in
 * flight. `flush` waits for all of them (before a terminal state is reported).
 */
import type { Logger } from '@joblet/logging';
import { appendEvent, type BuildStore, type RedisClient } from '@joblet/queue';
import { type Arch, type ArchStatus, type BuildEvent } from '@joblet/spec';

export class EventSink {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly log: Logger,
  ) {}

  push(event: BuildEvent): void {
    const p = appendEvent(this.redis, this.key, event).catch((err: unknown) =>
      this.log.warn({ err, type: event.type }, 'cannot append build event'),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

/**
 * Updates of one arch's status, applied one after the other: `BuildStore.updateArch` reads,
 * merges and writes, so two in flight at once could let an older patch (a phase) overwrite a
 * newer one (the final state).
 */
export class ArchStatusWriter {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: BuildStore,
    private readonly buildId: string,
    private readonly arch: Arch,
    private readonly log: Logger,
  ) {}

  update(patch: Partial<ArchStatus>): Promise<void> {
    const next = this.chain.then(() => this.store.updateArch(this.buildId, this.arch, patch));
    this.chain = next.catch((err: unknown) => this.log.warn({ err }, 'cannot update arch status'));
    return next.then(() => undefined);
  }

  /** Waits for every update so far (failures were logged). */
  async flush(): Promise<void> {
    await this.chain;
  }
}
