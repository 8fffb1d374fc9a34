/**
 * `rnx node join <name>`: what a new execution node needs to join the farm started on this
 * machine by `rnx farm up`, written as files an operator copies to the node — its agent's
 * environment (`agent.env`, the systemd unit's EnvironmentFile: the farm's Redis, queue prefix,
 * store, the node's name and arch) and the farm's signing public key (`farm.pub.pem`, the
 * node's AGENT_TRUSTED_KEYS).
 *
 * The node gets a Redis identity of its own — an ACL user `joblet-node-<name>` with a generated
 * password, allowed the farm's keys and channels only and no dangerous commands (as the `agent`
 * user of infra/redis/users.acl.example) — so it can be refused alone: `rnx node remove` deletes
 * that user. A Redis without ACLs, or credentials that may not create users, is refused, naming
 * what to do.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { NODE_NAME, nodeCredentialUser, type Arch } from '@joblet/spec';
import { CliError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { farmRedisPasswordFile } from './farm-redis.js';
import { ensureFarmSigningKey } from './farm-signing-key.js';
import { readFarmState, redactUrl } from './farm-state.js';

/** Where an installed node keeps the files (the unit's EnvironmentFile is /etc/joblet-farm/agent.env). */
const NODE_ETC = '/etc/joblet-farm';

export interface NodeJoinOptions {
  name: string;
  arch: Arch;
  /** The farm's state dir. */
  dir: string;
  /** Where the node's files are written. */
  out: string;
}

export interface NodeJoin {
  user: string;
  files: string[];
  /** What a node on another machine could not reach, said plainly. */
  warnings: string[];
}

const isLoopback = (host: string) =>
  host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';

/** The ACL rules of a node's user: the farm's keys and channels, no dangerous commands. */
export function nodeAclRules(prefix: string, password: string): string[] {
  return [
    'reset',
    'on',
    `>${password}`,
    `~${prefix}:*`,
    `&${prefix}:*`,
    '+@all',
    '-@dangerous',
    '+info',
    '+restore',
  ];
}

/** The farm's Redis as this machine's operator reaches it (URL credentials, or the farm's own). */
function adminRedis(url: string, farmDir: string): Redis {
  const file = farmRedisPasswordFile(farmDir);
  const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    ...(password !== undefined && !new URL(url).password && { password }),
  });
}

export async function joinNode(o: NodeJoinOptions): Promise<NodeJoin> {
  if (!NODE_NAME.test(o.name))
    throw new UsageError(`node name "${o.name}": lowercase letters, digits, "." and "-"`);
  const state = readFarmState(o.dir);
  if (!state)
    throw new CliError(
      `no farm in ${o.dir}: run rnx node join on the machine where rnx farm up runs (or --dir)`,
      EXIT.FAILED,
    );
  const warnings: string[] = [];
  if (state.storageUrl.startsWith('file://'))
    warnings.push(
      `the store is a directory (${state.storageUrl}): only a node on this machine reads it; for ` +
        'other machines start the farm with --storage-url s3://…',
    );
  else if (isLoopback(new URL(state.storageUrl).hostname))
    warnings.push(
      `the store ${redactUrl(state.storageUrl)} is on loopback: only this machine reaches it`,
    );
  if (isLoopback(new URL(state.redisUrl).hostname))
    warnings.push(
      `Redis ${redactUrl(state.redisUrl)} is on loopback: only this machine reaches it; for ` +
        'other machines start the farm with --redis-url of a Redis the nodes reach',
    );

  const user = nodeCredentialUser(o.name);
  const password = randomBytes(24).toString('hex');
  const redis = adminRedis(state.redisUrl, o.dir);
  try {
    await redis.connect();
    await redis.call('ACL', 'SETUSER', user, ...nodeAclRules(state.prefix, password));
  } catch (err) {
    throw new CliError(
      `could not create the node's Redis user ${user} at ${redactUrl(state.redisUrl)}: ` +
        `${(err as Error).message} (it needs Redis 6 or newer and credentials that may run ACL SETUSER)`,
      EXIT.FAILED,
    );
  } finally {
    redis.disconnect();
  }

  const signing = ensureFarmSigningKey(o.dir);
  mkdirSync(o.out, { recursive: true, mode: 0o700 });
  const url = new URL(state.redisUrl);
  url.username = '';
  url.password = '';
  const env = [
    `# joblet agent of node ${o.name}, made by rnx node join on ${new Date().toISOString()}`,
    `# Install: copy this directory's files to ${NODE_ETC}/ (agent.env mode 0600), then`,
    '#   systemctl enable --now joblet-agent   (infra/systemd/joblet-agent.service)',
    `AGENT_NAME=${o.name}`,
    `AGENT_ARCH=${o.arch}`,
    `REDIS_URL=${url.toString()}`,
    `REDIS_USERNAME=${user}`,
    `REDIS_PASSWORD=${password}`,
    `QUEUE_PREFIX=${state.prefix}`,
    `STORAGE_URL=${state.storageUrl}`,
    '# An S3 store: a key that may only read the bucket (the agent never writes to it).',
    '# STORAGE_ACCESS_KEY=',
    '# STORAGE_SECRET_KEY=',
    `AGENT_TRUSTED_KEYS=${NODE_ETC}/farm.pub.pem`,
    '',
  ].join('\n');
  const envFile = join(o.out, 'agent.env');
  writeFileSync(envFile, env, { mode: 0o600 });
  chmodSync(envFile, 0o600);
  const keyFile = join(o.out, 'farm.pub.pem');
  copyFileSync(signing.publicKeyFile, keyFile);
  return { user, files: [envFile, keyFile], warnings };
}
