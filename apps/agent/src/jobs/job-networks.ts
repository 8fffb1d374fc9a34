// The bridge networks of this node's jobs (`bridge` and custom networks; networks.ts in
// @joblet/spec says what each one reaches). A network's definition is farm-wide (Redis, through
// @joblet/queue's NetworkRegistry); this node realises it on demand: the bridge is made when the
// first job of the network starts here and removed when the last one ends. Each job holds an
// address from the network's range for as long as it runs, and every job of the network sees
// the others by job id, 8-character prefix and hostname in its /etc/hosts — a file per network,
// bound read-only and rewritten in place whenever a job joins or leaves, so running jobs see
// newcomers. At start-up the node frees the addresses and bridges its dead jobs left.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@joblet/logging';
import { NetworkRegistryError, type NetworkRegistry } from '@joblet/queue';
import {
  bridgeName,
  cleanupBridges,
  ensureBridge,
  removeBridgeIfUnused,
  vethName,
  type BridgeAttachment,
} from '@joblet/sandbox';
import { intToIp, networkKind, parseCidr } from '@joblet/spec';
import { JobFailure } from './job-errors.js';

/** A running job's place in its bridge network. */
export interface JobNetworkLease {
  ip: string;
  attachment: BridgeAttachment;
  /** The network's hosts file, bound read-only at /etc/hosts. */
  hostsFile: string;
  /** Frees the address and, with the network's last job here, its bridge. Idempotent. */
  release(): Promise<void>;
}

export interface JobNetworksOptions {
  node: string;
  registry: NetworkRegistry;
  /** Where the networks' hosts files are written (AGENT_WORK_DIR/.networks). */
  dir: string;
  log: Logger;
}

/** The hosts-file names of a job: its id, its 8-character prefix and its hostname. */
export function jobHostNames(jobId: string): string[] {
  return [jobId, jobId.slice(0, 8), `job-${jobId.slice(0, 8)}`];
}

export class JobNetworks {
  /** Jobs of each network running here now. */
  private readonly users = new Map<string, number>();
  /** Bridge set-up and removal one at a time (a removal never races a job joining). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: JobNetworksOptions) {}

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Start-up: what the jobs of a previous run held (addresses, bridges, hosts files) is freed. */
  async cleanup(): Promise<void> {
    const freed = await this.o.registry.releaseNode(this.o.node);
    const bridges = await cleanupBridges();
    await rm(this.o.dir, { recursive: true, force: true });
    if (freed > 0 || bridges.length > 0)
      this.o.log.info({ addresses: freed, bridges }, 'freed the job networks of a previous run');
  }

  /**
   * The job's place in `network`, or undefined for networks without a bridge (none, isolated,
   * host).
   * @throws JobFailure (start-failed) for a network that does not exist or is full, or a bridge
   *   this node cannot make.
   */
  async acquire(network: string, jobId: string): Promise<JobNetworkLease | undefined> {
    if (networkKind(network) !== 'bridge') return undefined;
    const def = await this.o.registry.get(network);
    if (!def)
      throw new JobFailure(
        `network ${network} does not exist (removed after the job was submitted?); see rnx network list`,
        'start-failed',
      );
    const cidr = parseCidr(def.cidr);
    if (typeof cidr === 'string')
      throw new JobFailure(`network ${network}: ${def.cidr} is not ${cidr}`, 'start-failed');
    const bridge = bridgeName(network);
    const gateway = intToIp(cidr.base + 1);
    this.users.set(network, (this.users.get(network) ?? 0) + 1);
    let ip: string | undefined;
    try {
      await this.serial(() => ensureBridge(bridge, gateway, cidr.prefix));
      ip = await this.o.registry.allocate(def, this.o.node, jobId);
      const hostsFile = await this.serial(() => this.writeHosts(network));
      let released: Promise<void> | undefined;
      const address = ip;
      return {
        ip,
        hostsFile,
        attachment: { bridge, veth: vethName(jobId), cidr: def.cidr, address, gateway },
        release: () => (released ??= this.release(network, address, jobId)),
      };
    } catch (err) {
      await this.release(network, ip, jobId);
      if (err instanceof NetworkRegistryError)
        throw new JobFailure(err.message, 'start-failed', 'FAILED', { cause: err });
      throw new JobFailure(
        `network ${network} could not be set up on node ${this.o.node}: ${(err as Error).message}`,
        'start-failed',
        'FAILED',
        { cause: err },
      );
    }
  }

  private async release(network: string, ip: string | undefined, jobId: string): Promise<void> {
    if (ip) await this.o.registry.release(network, ip, this.o.node, jobId);
    const left = (this.users.get(network) ?? 1) - 1;
    if (left > 0) {
      this.users.set(network, left);
      await this.serial(() => this.writeHosts(network));
      return;
    }
    this.users.delete(network);
    await this.serial(async () => {
      if (this.users.has(network)) return; // a job joined meanwhile
      await removeBridgeIfUnused(bridgeName(network));
      await rm(this.hostsPath(network), { force: true });
    });
  }

  private hostsPath(network: string): string {
    return join(this.o.dir, `${network}.hosts`);
  }

  /** Rewrites the network's hosts file in place (the same inode: running jobs' binds see it). */
  private async writeHosts(network: string): Promise<string> {
    const members = await this.o.registry.members(network);
    const lines = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      ...members
        .sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }))
        .map((m) => `${m.ip}\t${jobHostNames(m.jobId).join(' ')}`),
      '',
    ];
    await mkdir(this.o.dir, { recursive: true, mode: 0o755 });
    const path = this.hostsPath(network);
    await writeFile(path, lines.join('\n'), { mode: 0o644 });
    return path;
  }
}
