// One runtime lease per runtime for all the jobs of this agent, counted in memory: the first job
// takes the lease file (under the runtime's gate lock, see leases.ts), the others only count, and
// the file goes a little after the last job ends. Taking the gate for every job serialized
// concurrent jobs of one runtime on a polled file lock (~10 ms each, 100+ ms under load); a
// runtime in use by any job of ours still has a live lease, so removal waits exactly as before.
// A removal already pending (RUNTIME_REMOVING) is still refused to new jobs, as leases.ts does.
import { randomBytes } from 'node:crypto';
import { AgentError, AgentErrorCode } from '../errors.js';
import { exists, runtimeKey, type RuntimeLayout } from '../runtimes/layout.js';
import { acquireRuntimeLease, type RuntimeLease } from '../runtimes/leases.js';

interface Entry {
  users: number;
  lease: Promise<RuntimeLease>;
  linger: NodeJS.Timeout | undefined;
}

export interface SharedLeasesOptions {
  layout: RuntimeLayout;
  /** How long the lease outlives the last job (ms): back-to-back jobs then reuse it. Default 2000. */
  lingerMs?: number;
}

export class SharedRuntimeLeases {
  private readonly entries = new Map<string, Entry>();
  /** Lease holder name of this process: unique per process sharing RUNTIMES_DIR. */
  private readonly holder = `jobs-${process.pid}-${randomBytes(3).toString('hex')}`;

  constructor(private readonly o: SharedLeasesOptions) {}

  /**
   * Holds `name@version` for one job; resolves to the release function. Throws like
   * acquireRuntimeLease (RUNTIME_NOT_INSTALLED, RUNTIME_REMOVING).
   */
  async acquire(name: string, version: string): Promise<() => Promise<void>> {
    const key = runtimeKey(name, version);
    let entry = this.entries.get(key);
    if (entry) {
      // Reusing our lease must not let a job in after a removal was asked for.
      if (await exists(this.o.layout.removingMarker(name, version))) {
        throw new AgentError(
          `runtime ${key} is being removed from this node`,
          AgentErrorCode.RuntimeRemoving,
        );
      }
      entry = this.entries.get(key); // may have been released meanwhile
    }
    if (!entry) {
      const lease = acquireRuntimeLease(this.o.layout.root, name, version, this.holder);
      entry = { users: 0, lease, linger: undefined };
      this.entries.set(key, entry);
      lease.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    const e = entry;
    clearTimeout(e.linger);
    e.linger = undefined;
    e.users++;
    try {
      await e.lease;
    } catch (err) {
      e.users--;
      throw err;
    }
    let released = false;
    return () => {
      if (released) return Promise.resolve();
      released = true;
      e.users--;
      if (e.users === 0) {
        e.linger = setTimeout(
          () => void this.drop(key, e).catch(() => undefined),
          this.o.lingerMs ?? 2000,
        );
        e.linger.unref();
      }
      return Promise.resolve();
    };
  }

  private async drop(key: string, e: Entry): Promise<void> {
    if (e.users > 0 || this.entries.get(key) !== e) return;
    this.entries.delete(key);
    await (await e.lease).release();
  }

  /** Releases every lease now (agent stop). */
  async releaseAll(): Promise<void> {
    const all = [...this.entries.entries()];
    this.entries.clear();
    for (const [, e] of all) {
      clearTimeout(e.linger);
      await e.lease.then((l) => l.release()).catch(() => undefined);
    }
  }
}
