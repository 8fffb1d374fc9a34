/** Small concurrency helpers: a counting semaphore and a per-key coalescing runner. */

/** At most `size` holders at once; waiters are served in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Runs `work(key)` for requested keys, never twice at once for one key. A request while the key
 * is running schedules exactly one more run after it (requests coalesce: the work converges to the
 * current state, so running it once more covers any number of requests).
 */
export class KeyedRunner {
  private readonly running = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(private readonly work: (key: string) => Promise<void>) {}

  /** Resolves when the key's work (including a coalesced re-run) is over. Never rejects. */
  request(key: string): Promise<void> {
    const current = this.running.get(key);
    if (current) {
      current.again = true;
      return current.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.work(key).catch(() => undefined);
        } while (entry.again);
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, entry);
    return entry.done;
  }

  keys(): string[] {
    return [...this.running.keys()];
  }

  /** Resolves once nothing runs (work requested meanwhile is waited for too). */
  async idle(): Promise<void> {
    while (this.running.size > 0) {
      await Promise.all([...this.running.values()].map((e) => e.done));
    }
  }
}
