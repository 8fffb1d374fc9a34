/**
 * Execution nodes as their agents report them in Redis; online = a recent heartbeat from an agent
 * that has not stopped (a clean stop is offline at once: pinned jobs are refused, not queued for a
 * node that may never come back). A node an operator cordoned or drains carries its `schedule`
 * (node-admin.ts).
 */
import {
  NODE_OFFLINE_AFTER_MS,
  NodeInfo,
  NodeRuntimeStatus,
  NodeSchedule,
  type NodeView,
} from '@joblet/spec';
import type { Keys, RedisClient } from '@joblet/queue';

export class NodeService {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<NodeView[]> {
    const names = (await this.redis.smembers(this.keys.nodes)).sort();
    const out: NodeView[] = [];
    for (const name of names) {
      const view = await this.get(name);
      if (view) out.push(view);
    }
    return out;
  }

  async get(name: string): Promise<NodeView | undefined> {
    const [raw, runtimes, schedule] = await Promise.all([
      this.redis.get(this.keys.node(name)),
      this.redis.hgetall(this.keys.nodeRuntimes(name)),
      this.redis.get(this.keys.nodeSchedule(name)),
    ]);
    if (!raw) return undefined;
    const info = NodeInfo.safeParse(JSON.parse(raw));
    if (!info.success) return undefined;
    const statuses = Object.values(runtimes)
      .map((v) => NodeRuntimeStatus.safeParse(JSON.parse(v)))
      .flatMap((r) => (r.success ? [r.data] : []))
      .sort((a, b) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`));
    return {
      ...info.data,
      online:
        info.data.stoppedAt === undefined &&
        this.now() - Date.parse(info.data.lastHeartbeat) < NODE_OFFLINE_AFTER_MS,
      runtimes: statuses,
      ...(schedule !== null && { schedule: NodeSchedule.parse(JSON.parse(schedule)) }),
    };
  }
}
