/**
 * RuntimeSync keeps RUNTIMES_DIR equal to the index for this node's architecture:
 * - at start: leftovers of a crash are cleaned (staging/incoming/trash dirs of dead processes,
 *   stale leases and locks), then a full reconcile against `index/`;
 * - on every `runtime.published` / `runtime.removed` event (followed by cursor);
 * - by a periodic reconcile.
 * Each runtime converges on its own: read its index entry → install it (if it has our arch) or
 * remove it. One runtime is never worked on twice at once; different runtimes install
 * concurrently up to a small limit.
 */
import type { Logger } from '@joblet/logging';
import type { Keys, RedisClient } from '@joblet/queue';
import { RuntimeIndexEntry, type Arch, type FarmEvent } from '@joblet/spec';
import type { TrustedKey } from '@joblet/artifact';
import {
  indexKey,
  indexPrefix,
  parseIndexKey,
  withRetry,
  type ArtifactStore,
} from '@joblet/storage';
import { KeyedRunner, Semaphore } from './concurrency.js';
import { EventFollower } from './event-follower.js';
import { InstallFailure, InstallFailureCode } from '../errors.js';
import { InProcessExtractor, type Extractor } from './extractor.js';
import { Installer, type InstallOutcome } from './installer.js';
import { RuntimeLayout, isRuntimeId, runtimeKey, splitRuntimeKey } from './layout.js';
import { liveLeases } from './leases.js';
import { Remover, type RemoveOutcome } from './remover.js';
import { StatusReporter } from './status-reporter.js';
import { cleanupLeftovers } from './startup-cleanup.js';

export interface RuntimeSyncOptions {
  node: string;
  arch: Arch;
  runtimesDir: string;
  store: ArtifactStore;
  redis: RedisClient;
  /** A connection for the blocking stream read; default `redis.duplicate()`. */
  blocking?: RedisClient;
  keys: Keys;
  log: Logger;
  minFreeBytes: number;
  maxArtifactBytes: number;
  /** Public keys whose manifest signatures are accepted (AGENT_TRUSTED_KEYS). */
  trustedKeys: readonly TrustedKey[];
  /** Downloads/extractions at once. Default 2. */
  installConcurrency?: number;
  /** Default 60 000; 0 disables the periodic reconcile. */
  reconcileIntervalMs?: number;
  /** How often deferred removals look at their leases (ms). Default 1000. */
  leasePollMs?: number;
  /** Longest blocking read of the event stream (ms). Default 5000. */
  followBlockMs?: number;
  /** A runtime that failed for good (checksum, unsafe) is tried again after this (ms). Default 15 min. */
  failedRetryMs?: number;
  /** Where downloads+extractions run. Default: in this process. */
  extractor?: Extractor;
}

/** What the last step of one runtime's convergence did (for tests, logs and the API). */
export type ConvergeResult =
  | InstallOutcome
  | RemoveOutcome
  | { kind: 'skipped'; reason: string }
  | { kind: 'error'; message: string };

export class RuntimeSync {
  readonly layout: RuntimeLayout;
  readonly status: StatusReporter;
  private readonly installer: Installer;
  private readonly remover: Remover;
  private readonly runner: KeyedRunner;
  private readonly follower: EventFollower;
  private readonly abort = new AbortController();
  private readonly failures = new Map<string, { fingerprint: string; at: number }>();
  private readonly deferred = new Set<string>();
  private readonly last = new Map<string, ConvergeResult>();
  private reconciling: Promise<void> | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly o: RuntimeSyncOptions) {
    this.layout = new RuntimeLayout(o.runtimesDir);
    this.status = new StatusReporter(o.redis, o.keys, o.node, o.arch, o.log);
    this.installer = new Installer({
      layout: this.layout,
      store: o.store,
      status: this.status,
      arch: o.arch,
      trustedKeys: o.trustedKeys,
      minFreeBytes: o.minFreeBytes,
      maxArtifactBytes: o.maxArtifactBytes,
      slots: new Semaphore(o.installConcurrency ?? 2),
      extractor: o.extractor ?? new InProcessExtractor(o.store, o.log),
      log: o.log,
      leasePollMs: o.leasePollMs ?? 1000,
    });
    this.remover = new Remover({ layout: this.layout, status: this.status, log: o.log });
    this.runner = new KeyedRunner((key) => this.convergeNow(key));
    this.follower = new EventFollower({
      redis: o.redis,
      blocking: o.blocking ?? o.redis.duplicate(),
      keys: o.keys,
      node: o.node,
      log: o.log,
      blockMs: o.followBlockMs ?? 5000,
      onEvent: (e) => this.onEvent(e),
    });
  }

  /** Cleans crash leftovers, reconciles once, then follows events and reconciles periodically. */
  async start(): Promise<void> {
    await this.layout.prepare();
    const cleaned = await cleanupLeftovers(this.layout);
    if (cleaned.length > 0) this.o.log.info({ cleaned }, 'removed leftovers of a previous run');
    const cursor = await this.follower.init();
    this.o.log.info({ cursor }, 'following farm events');
    await this.reconcile().catch((err: unknown) =>
      this.o.log.error({ err }, 'initial reconcile failed; retried periodically'),
    );
    if (this.stopping) return;
    this.follower.start();
    const every = this.o.reconcileIntervalMs ?? 60_000;
    if (every > 0) {
      this.reconcileTimer = setInterval(() => {
        this.reconcile().catch((err: unknown) => this.o.log.error({ err }, 'reconcile failed'));
      }, every);
      this.reconcileTimer.unref();
    }
  }

  /**
   * Stops following and reconciling, waits up to `deadlineMs` for installs in progress, then
   * aborts what is left (its staging is removed; the next start redoes it).
   */
  async stop(deadlineMs = 30_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.reconcileTimer);
    clearInterval(this.leaseTimer);
    await this.follower.stop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (r) => (timer = setTimeout(() => r('timeout'), deadlineMs)),
    );
    const settled = await Promise.race([this.runner.idle().then(() => 'idle' as const), timeout]);
    clearTimeout(timer);
    if (settled === 'timeout') {
      this.o.log.warn({ running: this.runner.keys() }, 'aborting installs at shutdown');
      this.abort.abort(new Error('agent stopping'));
      await this.runner.idle();
    }
  }

  /** Converges one runtime; resolves when done (a request during a run coalesces into one more). */
  converge(name: string, version: string): Promise<void> {
    if (this.stopping || !isRuntimeId(name, version)) return Promise.resolve();
    return this.runner.request(runtimeKey(name, version));
  }

  /** Resolves once no convergence is running. */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  /** The last result per `<name>@<version>`. */
  lastResult(name: string, version: string): ConvergeResult | undefined {
    return this.last.get(runtimeKey(name, version));
  }

  /** Runtimes being installed or removed right now (`<name>@<version>`). */
  busy(): string[] {
    return this.runner.keys();
  }

  /** Every runtime in the index, installed here, or reported by this node is converged once. */
  reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce().finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    const started = Date.now();
    const keys = new Set<string>();
    // A listing failure throws before anything is removed: "not listed" must mean "not there".
    await withRetry(async () => {
      keys.clear();
      for await (const obj of this.o.store.list(indexPrefix())) {
        const id = parseIndexKey(obj.key);
        if (id && isRuntimeId(id.name, id.version)) keys.add(runtimeKey(id.name, id.version));
      }
    });
    const indexed = keys.size;
    const installed = await this.layout.listInstalled();
    if (indexed === 0 && installed.length > 0) {
      // An index with nothing in it looks exactly like a wrong STORAGE_URL or an empty bucket:
      // wiping the node on that evidence alone is worse than keeping a few stale runtimes.
      // `runtime.removed` events still remove runtimes one by one.
      this.o.log.warn(
        { installed: installed.length, store: this.o.store.url },
        'the index is empty: reconcile removes nothing (check STORAGE_URL)',
      );
      return;
    }
    for (const r of installed) keys.add(runtimeKey(r.name, r.version));
    for (const field of await this.status.fields()) {
      if (splitRuntimeKey(field)) keys.add(field);
      else await this.status.removeField(field); // not ours to keep: unparsable
    }
    await Promise.all(
      [...keys].map((k) => (this.stopping ? Promise.resolve() : this.runner.request(k))),
    );
    this.o.log.debug({ indexed, checked: keys.size, ms: Date.now() - started }, 'reconciled');
  }

  private onEvent(e: FarmEvent): void {
    if (this.stopping) return;
    this.o.log.debug({ event: e.type, runtime: runtimeKey(e.name, e.version) }, 'farm event');
    if (e.type === 'runtime.published' && !e.arches.includes(this.o.arch)) {
      // Not for us, unless a previous publish of it was (then converge removes or keeps it).
      void this.layout
        .isInstalled(e.name, e.version)
        .then((installed) => (installed ? this.converge(e.name, e.version) : undefined));
      return;
    }
    void this.converge(e.name, e.version);
  }

  /** One convergence step of one runtime. Never throws. */
  private async convergeNow(key: string): Promise<void> {
    const id = splitRuntimeKey(key);
    if (!id || this.stopping) return;
    const log = this.o.log.child({ runtime: key });
    let result: ConvergeResult;
    try {
      result = await this.step(id.name, id.version, key);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      log.error({ err }, 'converging the runtime failed');
      result = { kind: 'error', message: (err as Error).message };
    }
    this.last.set(key, result);
    if (result.kind === 'deferred') this.deferred.add(key);
    else this.deferred.delete(key);
    this.watchLeases();
  }

  private async step(name: string, version: string, key: string): Promise<ConvergeResult> {
    const signal = this.abort.signal;
    const entry = await this.readIndexEntry(name, version);
    if (entry === 'invalid') {
      const message = `index entry ${indexKey(name, version)} is invalid`;
      await this.status.report(name, version, 'failed', {
        failure: { code: InstallFailureCode.BadManifest, message },
      });
      return { kind: 'skipped', reason: message };
    }
    const art = entry?.arches[this.o.arch];
    if (!entry || !art) return this.remover.remove(name, version, signal);
    const fingerprint = `${art.sha256}/${art.treeHash}`;
    const failed = this.failures.get(key);
    const retryAfter = this.o.failedRetryMs ?? 15 * 60_000;
    if (failed?.fingerprint === fingerprint && Date.now() - failed.at < retryAfter) {
      return { kind: 'skipped', reason: 'failed recently with the same artifact' };
    }
    const outcome = await this.installer.install(entry, signal);
    if (outcome.kind === 'failed' && !outcome.failure.retryable) {
      this.failures.set(key, { fingerprint, at: Date.now() });
    } else {
      this.failures.delete(key);
    }
    return outcome;
  }

  /** The index entry, undefined when there is none, 'invalid' when it does not parse. */
  private async readIndexEntry(
    name: string,
    version: string,
  ): Promise<RuntimeIndexEntry | undefined | 'invalid'> {
    const raw = await withRetry(() => this.o.store.getJson<unknown>(indexKey(name, version)), {
      signal: this.abort.signal,
    }).catch((err: unknown) => {
      throw new InstallFailure(
        `reading the index failed: ${(err as Error).message}`,
        InstallFailureCode.StoreFailed,
        { cause: err },
      );
    });
    if (raw === undefined) return undefined;
    const parsed = RuntimeIndexEntry.safeParse(raw);
    if (!parsed.success || parsed.data.name !== name || parsed.data.version !== version) {
      return 'invalid';
    }
    return parsed.data;
  }

  /** While removals wait for leases, look every second and converge those now free. */
  private watchLeases(): void {
    if (this.deferred.size === 0 || this.stopping) {
      clearInterval(this.leaseTimer);
      this.leaseTimer = undefined;
      return;
    }
    this.leaseTimer ??= setInterval(() => {
      for (const key of this.deferred) {
        const id = splitRuntimeKey(key);
        if (!id) continue;
        void liveLeases(this.layout, id.name, id.version).then((live) => {
          if (live.length === 0 && !this.stopping) void this.runner.request(key);
        });
      }
    }, this.o.leasePollMs ?? 1000);
    this.leaseTimer.unref();
  }
}
