/**
 * What the farm does with a connection of either topology ({@link RedisClient}: one server or
 * Sentinel-managed `Redis`, or a `Cluster`) where the two ioredis classes differ: making another
 * connection with the same servers and credentials, and walking the key space.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection.js';

export interface DuplicateOptions {
  /** For BullMQ workers and QueueEvents: blocking commands are never cut short. */
  forWorker?: boolean;
}

/**
 * A new connection to the same servers with the same credentials and options (`duplicate()` of
 * each class, which take their overrides differently).
 */
export function duplicateRedis(client: Redis, opts?: DuplicateOptions): Redis;
export function duplicateRedis(client: Cluster, opts?: DuplicateOptions): Cluster;
export function duplicateRedis(client: RedisClient, opts?: DuplicateOptions): RedisClient;
export function duplicateRedis(client: RedisClient, opts: DuplicateOptions = {}): RedisClient {
  const maxRetriesPerRequest = opts.forWorker ? null : 3;
  if (client instanceof Cluster) {
    // Cluster.duplicate merges options shallowly: the node options are passed whole.
    return client.duplicate(undefined, {
      redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest },
    });
  }
  return client.duplicate({ maxRetriesPerRequest });
}

/**
 * Every key matching `pattern` (SCAN, never KEYS). On a cluster each master holds a part of the
 * key space and SCAN sees only the node it is sent to, so every master is scanned.
 */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      for (const k of keys) found.add(k);
    } while (cursor !== '0');
  }
  return [...found];
}

/** Deletes every key matching `pattern` (one at a time on a cluster: keys may be in any slot). */
export async function deleteKeys(client: RedisClient, pattern: string): Promise<number> {
  const keys = await scanKeys(client, pattern);
  let n = 0;
  if (client instanceof Cluster) {
    for (const k of keys) n += await client.del(k);
    return n;
  }
  for (let i = 0; i < keys.length; i += 500) n += await client.del(...keys.slice(i, i + 500));
  return n;
}
