/**
 * Nodes as operators manage them (`rnx node cordon|uncordon|drain|remove`), like `kubectl
 * cordon` / `nomad node drain` / `kubectl delete node`:
 * - cordon: the node takes no new job (job-routing.ts leaves it out; a job pinned to it is
 *   refused), and runs what it has;
 * - drain: cordoned, and once its deadline passes the jobs still running there are stopped
 *   (`stopOverdue`, run periodically); `rnx node drain` waits until the node runs nothing;
 * - uncordon: takes jobs again;
 * - remove: forgets an offline node — its record, runtime reports, event cursor and schedule —
 *   and cancels the jobs still queued for it alone, which would otherwise wait forever. A node
 *   that is online is refused (its agent would register it again with its next heartbeat), and
 *   so is one holding volumes (their data is on that machine). A node joined with `rnx node
 *   join` loses its Redis user too: its agent cannot connect any more.
 */
import type { Keys, RedisClient } from '@joblet/queue';
import {
  nodeCredentialUser,
  type NodeSchedule,
  type NodeScheduleRequest,
  type NodeView,
} from '@joblet/spec';
import { ApiError } from '../plugins/errors.js';
import type { JobService } from './job-service.js';
import type { NodeService } from './node-service.js';

export interface NodeRemoval {
  node: string;
  /** Jobs that were queued for this node alone, now canceled. */
  canceledJobs: string[];
  /** Its own Redis user (rnx node join): `revoked`, `none`, or why it is still there. */
  credential: string;
}

export class NodeAdmin {
  constructor(
    private readonly s: {
      redis: RedisClient;
      keys: Keys;
      nodes: NodeService;
      jobs: Pick<JobService, 'cancelQueuedFor' | 'stop'>;
    },
    private readonly now: () => number = Date.now,
  ) {}

  private async existing(name: string): Promise<NodeView> {
    const node = await this.s.nodes.get(name);
    if (!node)
      throw new ApiError(404, 'NOT_FOUND', `no node ${name} (rnx node list shows the nodes)`);
    return node;
  }

  private async set(name: string, schedule: NodeSchedule): Promise<NodeView> {
    await this.existing(name);
    await this.s.redis.set(this.s.keys.nodeSchedule(name), JSON.stringify(schedule));
    return this.existing(name);
  }

  cordon(name: string, by: string, req: NodeScheduleRequest): Promise<NodeView> {
    const since = new Date(this.now()).toISOString();
    return this.set(name, {
      state: 'cordoned',
      since,
      by,
      ...(req.reason && { reason: req.reason }),
    });
  }

  drain(name: string, by: string, req: NodeScheduleRequest): Promise<NodeView> {
    const now = this.now();
    return this.set(name, {
      state: 'draining',
      since: new Date(now).toISOString(),
      by,
      ...(req.reason && { reason: req.reason }),
      ...(req.deadlineS !== undefined && {
        deadline: new Date(now + req.deadlineS * 1000).toISOString(),
      }),
    });
  }

  async uncordon(name: string): Promise<NodeView> {
    await this.existing(name);
    await this.s.redis.del(this.s.keys.nodeSchedule(name));
    return this.existing(name);
  }

  async remove(name: string): Promise<NodeRemoval> {
    const node = await this.existing(name);
    if (node.online)
      throw new ApiError(
        409,
        'CONFLICT',
        `node ${name} is online: its agent would register it again; drain it ` +
          `(rnx node drain ${name}), stop its agent, then remove it`,
      );
    const volumes = await this.s.redis.smembers(this.s.keys.volumes(name));
    if (volumes.length > 0)
      throw new ApiError(
        409,
        'CONFLICT',
        `node ${name} holds the volume(s) ${volumes.sort().join(', ')}, whose data is on that ` +
          `machine: remove them first (rnx volume remove NAME --node ${name}) with the node online`,
      );
    const canceledJobs = await this.s.jobs.cancelQueuedFor(
      name,
      `its node ${name} was removed before it started`,
    );
    const k = this.s.keys;
    await this.s.redis
      .multi()
      .srem(k.nodes, name)
      .del(k.node(name), k.nodeRuntimes(name), k.nodeCursor(name), k.nodeSchedule(name))
      .exec();
    return { node: name, canceledJobs, credential: await this.revoke(name) };
  }

  /** Deletes the node's own Redis user, if it has one: its agent can no longer connect. */
  private async revoke(name: string): Promise<string> {
    const user = nodeCredentialUser(name);
    try {
      const n = await this.s.redis.call('ACL', 'DELUSER', user);
      return n === 1 ? 'revoked' : 'none';
    } catch (err) {
      return `kept: the API may not delete Redis user ${user} (${(err as Error).message}); ACL DELUSER ${user}`;
    }
  }

  /**
   * Stops the jobs still running on draining nodes whose deadline has passed (as their
   * heartbeats list them); returns the ids asked to stop. Idempotent: a stop of a job that has
   * ended meanwhile is a no-op.
   */
  async stopOverdue(): Promise<string[]> {
    const stopped: string[] = [];
    for (const n of await this.s.nodes.list()) {
      const d = n.schedule;
      if (d?.state !== 'draining' || !d.deadline || Date.parse(d.deadline) > this.now()) continue;
      for (const id of n.runningJobs ?? []) {
        await this.s.jobs.stop(id).catch(() => undefined);
        stopped.push(id);
      }
    }
    return stopped;
  }
}
