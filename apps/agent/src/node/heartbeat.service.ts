/**
 * Registration and heartbeat: the node's NodeInfo (with the free/total disk of RUNTIMES_DIR) is
 * written to `keys.node(name)` and the name added to `keys.nodes` at start and every interval.
 * The API shows a node online while its lastHeartbeat is within NODE_OFFLINE_AFTER_MS. A node is
 * never unregistered: on a clean stop a final record says when it stopped (`stoppedAt`), and the
 * node stays listed, going offline once its last heartbeat ages out. Each beat also reads what an
 * operator set for the node (cordon, drain: `keys.nodeSchedule(name)`) and hands it to
 * `onSchedule`, so a cordoned node stops taking jobs within one interval.
 */
import type { Logger } from '@joblet/logging';
import type { Keys, RedisClient } from '@joblet/queue';
import { NodeSchedule, type Arch, type NodeInfo } from '@joblet/spec';
import { allowedCpus } from './cpus.js';
import { diskUsage } from './disk.js';

export interface HeartbeatOptions {
  redis: RedisClient;
  keys: Keys;
  log: Logger;
  name: string;
  arch: Arch;
  labels: Record<string, string>;
  capacity: number;
  agentVersion: string;
  runtimesDir: string;
  /** AGENT_ALLOW_HOST_NETWORK: the API sends `network: host` jobs only to nodes reporting true. */
  allowHostNetwork: boolean;
  /** Default 5000. */
  intervalMs?: number;
  /** The jobs running here now (reported as `runningJobs`); absent on a node without jobs. */
  runningJobs?: () => string[];
  /** Called after every beat with the node's schedule (undefined: it takes jobs). */
  onSchedule?: (schedule: NodeSchedule | undefined) => Promise<void> | void;
}

/** NodeInfo plus `stoppedAt` after a clean stop (extra keys are ignored by NodeInfo readers). */
export type NodeRecord = NodeInfo & { stoppedAt?: string };

export class HeartbeatService {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();
  private beating: Promise<void> | undefined;
  private stopped = false;
  /** Set by the first heartbeat: a node that never registered writes no final record either. */
  private registered = false;

  constructor(private readonly o: HeartbeatOptions) {}

  /** Registers the node (first heartbeat, awaited) and keeps beating. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.beat();
    this.registered = true;
    this.timer = setInterval(() => {
      this.beating ??= this.beat()
        .catch((err: unknown) => this.o.log.warn({ err }, 'heartbeat failed'))
        .finally(() => (this.beating = undefined));
    }, this.o.intervalMs ?? 5000);
    this.timer.unref();
  }

  /** Stops beating and writes the final record (none when the node never registered). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.registered) return;
    clearInterval(this.timer);
    await this.beating;
    await this.beat(new Date().toISOString()).catch((err: unknown) =>
      this.o.log.warn({ err }, 'final heartbeat failed'),
    );
  }

  /** The record written now. */
  async record(stoppedAt?: string): Promise<NodeRecord> {
    const disk = await diskUsage(this.o.runtimesDir).catch(() => undefined);
    const cpus = await allowedCpus().catch(() => undefined);
    return {
      name: this.o.name,
      arch: this.o.arch,
      labels: this.o.labels,
      capacity: this.o.capacity,
      agentVersion: this.o.agentVersion,
      runtimesDir: this.o.runtimesDir,
      startedAt: this.startedAt,
      // Taken together: the API compares the list with jobs recorded RUNNING before this time.
      ...(this.o.runningJobs && { runningJobs: this.o.runningJobs() }),
      lastHeartbeat: new Date().toISOString(),
      allowHostNetwork: this.o.allowHostNetwork,
      ...(cpus !== undefined && { cpus }),
      ...(disk && { disk }),
      ...(stoppedAt !== undefined && { stoppedAt }),
    };
  }

  private async beat(stoppedAt?: string): Promise<void> {
    const rec = await this.record(stoppedAt);
    const res = await this.o.redis
      .multi()
      .set(this.o.keys.node(this.o.name), JSON.stringify(rec))
      .sadd(this.o.keys.nodes, this.o.name)
      .get(this.o.keys.nodeSchedule(this.o.name))
      .exec();
    const raw = res?.[2]?.[1];
    if (stoppedAt !== undefined || !this.o.onSchedule) return;
    const parsed = typeof raw === 'string' ? NodeSchedule.safeParse(JSON.parse(raw)) : undefined;
    await this.o.onSchedule(parsed?.success ? parsed.data : undefined);
  }
}
