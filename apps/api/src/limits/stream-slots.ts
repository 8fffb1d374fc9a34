/**
 * Open SSE streams, overall and per client. Counted in this process: each stream holds one of
 * this process's Redis connections and sockets, which is what the bound protects. With N
 * replicas a client can hold N × the per-client limit in total.
 */
export interface StreamLimits {
  /** Streams this process serves at once; 0 = no limit. */
  max: number;
  /** Streams one client (identity) holds at once on this process; 0 = no limit. */
  perClient: number;
}

export type SlotVerdict = { ok: true; release: () => void } | { ok: false; message: string };

export class StreamSlots {
  private total = 0;
  private readonly byClient = new Map<string, number>();

  constructor(readonly limits: StreamLimits) {}

  /** `limitClient` false: count the stream but only hold it to the overall limit. */
  acquire(client: string, limitClient = true): SlotVerdict {
    const mine = this.byClient.get(client) ?? 0;
    if (this.limits.max > 0 && this.total >= this.limits.max)
      return {
        ok: false,
        message: `the server has ${this.total} open event streams, its limit; retry shortly`,
      };
    if (limitClient && this.limits.perClient > 0 && mine >= this.limits.perClient) {
      return {
        ok: false,
        message: `${client} has ${mine} open event streams, the limit per client; close one first`,
      };
    }
    this.total += 1;
    this.byClient.set(client, mine + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        const n = (this.byClient.get(client) ?? 1) - 1;
        if (n <= 0) this.byClient.delete(client);
        else this.byClient.set(client, n);
      },
    };
  }

  get open(): number {
    return this.total;
  }
}
