/**
 * What this node reports per runtime: `syncing`, `installed` (with tree hash), `failed` (with the
 * failure as data — code, message, details such as the entry or key ids — and its message in
 * `error` for older readers) or `removing`, as NodeRuntimeStatus JSON in the hash `keys.nodeRuntimes(node)` under
 * `<name>@<version>`. A runtime that is gone has no field. Redis trouble never fails an install:
 * the report is retried by the next reconcile.
 */
import { incrementCounter, observeHistogram, type Keys, type RedisClient } from '@joblet/queue';
import type { Logger } from '@joblet/logging';
import { NodeRuntimeStatus, type Arch, type InstallFailureData } from '@joblet/spec';
import { runtimeKey } from './layout.js';

export type RuntimeState = NodeRuntimeStatus['state'];

export class StatusReporter {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    readonly node: string,
    private readonly arch: Arch,
    private readonly log: Logger,
  ) {
    this.key = keys.nodeRuntimes(node);
  }

  /** Farm-wide metric: how long an install took on this node (seconds). Best effort. */
  async observeSync(seconds: number): Promise<void> {
    await observeHistogram(
      this.redis,
      this.keys,
      'joblet_runtime_sync_duration_seconds',
      { node: this.node },
      seconds,
    ).catch(() => undefined);
  }

  /** Farm-wide metric: an install that failed on this node. Best effort. */
  async countSyncFailure(): Promise<void> {
    await incrementCounter(this.redis, this.keys, 'joblet_runtime_sync_failures_total', {
      node: this.node,
    }).catch(() => undefined);
  }

  async report(
    name: string,
    version: string,
    state: RuntimeState,
    extra: { treeHash?: string; failure?: InstallFailureData } = {},
  ): Promise<void> {
    const status: NodeRuntimeStatus = {
      name,
      version,
      arch: this.arch,
      state,
      ...(extra.treeHash !== undefined && { treeHash: extra.treeHash }),
      ...(extra.failure !== undefined && { error: extra.failure.message, failure: extra.failure }),
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.redis.hset(this.key, runtimeKey(name, version), JSON.stringify(status));
    } catch (err) {
      this.log.warn({ err, runtime: runtimeKey(name, version), state }, 'cannot report status');
    }
  }

  async clear(name: string, version: string): Promise<void> {
    try {
      await this.redis.hdel(this.key, runtimeKey(name, version));
    } catch (err) {
      this.log.warn({ err, runtime: runtimeKey(name, version) }, 'cannot clear status');
    }
  }

  /** Every status this node reports, by `<name>@<version>`. */
  async list(): Promise<Map<string, NodeRuntimeStatus>> {
    const out = new Map<string, NodeRuntimeStatus>();
    for (const [field, json] of Object.entries(await this.redis.hgetall(this.key))) {
      try {
        const parsed = NodeRuntimeStatus.safeParse(JSON.parse(json));
        if (parsed.success) out.set(field, parsed.data);
      } catch {
        // not JSON: ignored here, overwritten or removed by the reconcile
      }
    }
    return out;
  }

  /** Fields of the hash (including unparsable ones), for the reconcile to prune. */
  async fields(): Promise<string[]> {
    return this.redis.hkeys(this.key);
  }

  async removeField(field: string): Promise<void> {
    await this.redis.hdel(this.key, field);
  }
}
