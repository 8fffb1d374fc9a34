/**
 * `rnx node join`: against the real Redis of a farm's state dir, it creates the node's own ACL
 * user — which reaches the farm's keys and channels and nothing else, and no dangerous command —
 * and writes the agent's environment (0600) and the farm's public key; what another machine
 * could not reach is said; a farm directory without a farm is refused.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { CliError } from '../errors.js';
import { writeFarmState } from './farm-state.js';
import { joinNode } from './node-join.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('rnx node join', () => {
  let tmp: TempDir;
  const prefix = uniqueName('join');
  const node = `n-${prefix
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;
  const admin = new Redis(REDIS_URL, { lazyConnect: true });
  beforeAll(async () => {
    tmp = await makeTempDir('node-join-');
    writeFarmState(join(tmp.path, 'farm'), {
      supervisorPid: process.pid,
      apiUrl: 'http://127.0.0.1:7070',
      redisUrl: REDIS_URL,
      storageUrl: `file://${tmp.path}/store`,
      prefix,
      arch: 'amd64',
      startedAt: new Date().toISOString(),
      ready: true,
      components: {},
    });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.call('ACL', 'DELUSER', `joblet-node-${node}`).catch(() => undefined);
    admin.disconnect();
    await tmp.cleanup();
  });

  it('writes the agent environment with a Redis user that reaches the farm’s keys only', async () => {
    const out = join(tmp.path, 'out');
    const r = await joinNode({ name: node, arch: 'arm64', dir: join(tmp.path, 'farm'), out });
    expect(r.user).toBe(`joblet-node-${node}`);
    expect(r.files).toEqual([join(out, 'agent.env'), join(out, 'farm.pub.pem')]);
    expect(statSync(join(out, 'agent.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'farm.pub.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect(r.warnings.join('\n')).toContain('the store is a directory');
    expect(r.warnings.join('\n')).toContain('is on loopback: only this machine reaches it');

    const env = Object.fromEntries(
      readFileSync(join(out, 'agent.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      AGENT_NAME: node,
      AGENT_ARCH: 'arm64',
      REDIS_USERNAME: r.user,
      QUEUE_PREFIX: prefix,
      STORAGE_URL: `file://${tmp.path}/store`,
      AGENT_TRUSTED_KEYS: '/etc/joblet-farm/farm.pub.pem',
    });
    expect(env.REDIS_PASSWORD).toMatch(/^[0-9a-f]{48}$/);

    const asNode = new Redis(env.REDIS_URL!, {
      username: env.REDIS_USERNAME,
      password: env.REDIS_PASSWORD,
      lazyConnect: true,
    });
    try {
      await asNode.connect();
      expect(await asNode.set(`${prefix}:probe`, '1')).toBe('OK');
      await expect(asNode.set(`other-${prefix}:probe`, '1')).rejects.toThrow(/NOPERM/);
      await expect(asNode.flushall()).rejects.toThrow(/NOPERM/);
      await expect(asNode.call('CONFIG', 'GET', 'dir')).rejects.toThrow(/NOPERM/);
      expect(await asNode.publish(`${prefix}:job-stop`, '{}')).toBeGreaterThanOrEqual(0);
      await expect(asNode.publish('elsewhere', '{}')).rejects.toThrow(/NOPERM/);
    } finally {
      asNode.disconnect();
      await admin.del(`${prefix}:probe`);
    }
  });

  it('refuses a directory without a farm, saying where to run it', async () => {
    const r = joinNode({
      name: node,
      arch: 'amd64',
      dir: join(tmp.path, 'nothing'),
      out: tmp.path,
    });
    await expect(r).rejects.toThrow(CliError);
    await expect(r).rejects.toThrow(/no farm in .*nothing: run rnx node join on the machine/);
  });
});
