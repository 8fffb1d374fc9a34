/**
 * Custom job networks in Redis: the farm-wide definitions (`rnx network create prod --cidr …`)
 * and the addresses their running jobs hold. Every node realises a network on demand (its own
 * bridge; the agent's job-networks.ts), so a job naming a network can land on any node. An
 * address is held from the job's start to its end (HSETNX: two jobs never share one) and listed
 * per node too, so an agent that restarts frees what its dead jobs held.
 */
import {
  BRIDGE_NETWORK_CIDR,
  cidrSize,
  cidrsOverlap,
  intToIp,
  parseCidr,
  type Cidr,
} from '@joblet/spec';
import type { RedisClient } from './connection.js';
import type { Keys } from './names.js';

export interface NetworkDefinition {
  name: string;
  cidr: string;
  createdAt?: string;
}

/** One running job's address in a network. */
export interface NetworkMember {
  ip: string;
  node: string;
  jobId: string;
}

/** A create that clashes (name taken, range overlapping) or a remove of a network in use. */
export class NetworkRegistryError extends Error {
  override readonly name = 'NetworkRegistryError';
  constructor(
    message: string,
    readonly code: 'EXISTS' | 'OVERLAP' | 'IN_USE' | 'NOT_FOUND' | 'FULL',
  ) {
    super(message);
  }
}

function cidrOf(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(`stored network range ${text} is not ${c}`);
  return c;
}

export class NetworkRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** The custom networks, by name. */
  async list(): Promise<NetworkDefinition[]> {
    const all = await this.redis.hgetall(this.keys.networks);
    return Object.entries(all)
      .map(([name, json]) => ({ name, ...(JSON.parse(json) as Omit<NetworkDefinition, 'name'>) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A network's definition: `bridge` built in, a custom one from Redis, else undefined. */
  async get(name: string): Promise<NetworkDefinition | undefined> {
    if (name === 'bridge') return { name, cidr: BRIDGE_NETWORK_CIDR };
    const json = await this.redis.hget(this.keys.networks, name);
    return json ? { name, ...(JSON.parse(json) as Omit<NetworkDefinition, 'name'>) } : undefined;
  }

  /**
   * Defines a network (name and range checked by CreateNetworkRequest).
   * @throws NetworkRegistryError EXISTS, or OVERLAP naming the network whose range it overlaps.
   */
  async create(name: string, cidr: string): Promise<NetworkDefinition> {
    const c = cidrOf(cidr);
    const others = [{ name: 'bridge', cidr: BRIDGE_NETWORK_CIDR }, ...(await this.list())];
    if (others.some((o) => o.name === name))
      throw new NetworkRegistryError(`network ${name} exists already`, 'EXISTS');
    const clash = others.find((o) => cidrsOverlap(c, cidrOf(o.cidr)));
    if (clash)
      throw new NetworkRegistryError(
        `${cidr} overlaps network ${clash.name} (${clash.cidr}): choose another range`,
        'OVERLAP',
      );
    const def = { cidr, createdAt: new Date().toISOString() };
    if (!(await this.redis.hsetnx(this.keys.networks, name, JSON.stringify(def))))
      throw new NetworkRegistryError(`network ${name} exists already`, 'EXISTS');
    return { name, ...def };
  }

  /**
   * Removes a custom network.
   * @throws NetworkRegistryError NOT_FOUND, or IN_USE while jobs of it run.
   */
  async remove(name: string): Promise<void> {
    if (!(await this.redis.hexists(this.keys.networks, name)))
      throw new NetworkRegistryError(`network not found: ${name}`, 'NOT_FOUND');
    const members = await this.members(name);
    if (members.length > 0)
      throw new NetworkRegistryError(
        `network ${name} is in use by ${members.length} running job(s): ${members.map((m) => m.jobId).join(', ')}`,
        'IN_USE',
      );
    await this.redis.hdel(this.keys.networks, name);
  }

  /** The running jobs of a network and their addresses. */
  async members(name: string): Promise<NetworkMember[]> {
    const all = await this.redis.hgetall(this.keys.networkAddresses(name));
    return Object.entries(all).map(([ip, holder]) => {
      const [node = '', jobId = ''] = holder.split(' ');
      return { ip, node, jobId };
    });
  }

  /**
   * Takes the lowest free address of `def` for `jobId` on `node` (the first is the gateway, the
   * last the broadcast address: neither is given out).
   * @throws NetworkRegistryError FULL when every address is held.
   */
  async allocate(def: NetworkDefinition, node: string, jobId: string): Promise<string> {
    const c = cidrOf(def.cidr);
    const key = this.keys.networkAddresses(def.name);
    const held = new Set(await this.redis.hkeys(key));
    for (let n = c.base + 2; n < c.base + cidrSize(c) - 1; n++) {
      const ip = intToIp(n);
      if (held.has(ip)) continue;
      // Listed for the node first: a crash in between leaves a release with nothing to free.
      await this.redis.sadd(this.keys.nodeNetworkAddresses(node), `${def.name} ${ip}`);
      if (await this.redis.hsetnx(key, ip, `${node} ${jobId}`)) return ip;
      await this.redis.srem(this.keys.nodeNetworkAddresses(node), `${def.name} ${ip}`);
    }
    throw new NetworkRegistryError(
      `network ${def.name} (${def.cidr}) has no free address left`,
      'FULL',
    );
  }

  /** Frees `ip` if `jobId` on `node` still holds it. */
  async release(network: string, ip: string, node: string, jobId: string): Promise<void> {
    const key = this.keys.networkAddresses(network);
    if ((await this.redis.hget(key, ip)) === `${node} ${jobId}`) await this.redis.hdel(key, ip);
    await this.redis.srem(this.keys.nodeNetworkAddresses(node), `${network} ${ip}`);
  }

  /** Frees every address `node`'s jobs hold (its agent starts: none of them runs any more). */
  async releaseNode(node: string): Promise<number> {
    const setKey = this.keys.nodeNetworkAddresses(node);
    let freed = 0;
    for (const entry of await this.redis.smembers(setKey)) {
      const [network = '', ip = ''] = entry.split(' ');
      const key = this.keys.networkAddresses(network);
      const holder = await this.redis.hget(key, ip);
      if (holder?.startsWith(`${node} `)) freed += await this.redis.hdel(key, ip);
      await this.redis.srem(setKey, entry);
    }
    return freed;
  }
}
