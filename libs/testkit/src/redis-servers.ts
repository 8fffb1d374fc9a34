/**
 * Real Redis topologies for tests, as redis-server processes of the test's own on free loopback
 * ports, each in a temp dir: one password-protected server (optionally with an ACL file), a
 * master watched by a Sentinel, and a three-master Cluster. `stop()` ends exactly the processes it
 * started (by pid) and removes the dir.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
export const hasRedisCli = spawnSync('redis-cli', ['--version']).status === 0;

/** The password of the `default` user of the servers started here (unless an ACL file rules). */
export const TEST_REDIS_PASSWORD = 'farm-test-pw';

/** redis-server processes started by one test file; stopped by pid. */
export class RedisServers {
  readonly procs: ChildProcess[] = [];

  start(args: string[], cwd: string): ChildProcess {
    const child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    this.procs.push(child);
    return child;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) {
              resolve();
              return;
            }
            const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
            p.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            process.kill(p.pid, 'SIGTERM');
          }),
      ),
    );
  }
}

/** Polls `check` until it returns true (or throws after `ms`). */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True once the server on `port` answers PING (as `username`/`password`). */
export async function redisPingable(
  port: number,
  password = TEST_REDIS_PASSWORD,
  username?: string,
): Promise<boolean> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    password,
    ...(username !== undefined && { username }),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  r.on('error', () => undefined); // refused while the server starts: until() retries
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } finally {
    r.disconnect();
  }
}

/** Arguments of a loopback-only, non-persistent server with `default`'s password. */
export function redisServerArgs(port: number, password = TEST_REDIS_PASSWORD): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--requirepass',
    password,
    '--masterauth',
    password,
  ];
}

interface Started {
  dir: TempDir;
  stop(): Promise<void>;
}

function started(servers: RedisServers, dir: TempDir): Started {
  return {
    dir,
    async stop() {
      await servers.stopAll();
      await dir.cleanup();
    },
  };
}

export interface TestRedisServer extends Started {
  port: number;
}

/**
 * One server on a free port. With `aclFile` the file rules its users (`default` included, so
 * give `default` a password or `off` in it); without, `default` has {@link TEST_REDIS_PASSWORD}.
 * `ready` is how the start is detected: a user and password that may PING.
 */
export async function startRedisServer(
  opts: { aclFile?: string; ready?: { username?: string; password: string } } = {},
): Promise<TestRedisServer> {
  const servers = new RedisServers();
  const dir = await makeTempDir('redis-server');
  const port = await freePort();
  const args = opts.aclFile
    ? ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--aclfile', opts.aclFile]
    : redisServerArgs(port);
  servers.start(args, dir.path);
  const ready = opts.ready ?? { password: TEST_REDIS_PASSWORD };
  await until(`redis-server on ${port}`, () => redisPingable(port, ready.password, ready.username));
  return { ...started(servers, dir), port };
}

export interface TestSentinel extends Started {
  masterName: string;
  masterPort: number;
  sentinelPort: number;
  /** `redis-sentinel://:<password>@127.0.0.1:<sentinel>/<master>` (no password: none given). */
  url(password?: string): string;
}

/** A master and one Sentinel watching it as `farm-master`; both need the test password. */
export async function startRedisSentinel(): Promise<TestSentinel> {
  const servers = new RedisServers();
  const dir = await makeTempDir('redis-sentinel');
  const masterName = 'farm-master';
  const masterPort = await freePort();
  const sentinelPort = await freePort();
  servers.start(redisServerArgs(masterPort), dir.path);
  await until('the master', () => redisPingable(masterPort));
  // Sentinel rewrites its config file, so it gets a file of its own in the temp dir.
  const conf = join(dir.path, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir.path}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
      `sentinel auth-pass ${masterName} ${TEST_REDIS_PASSWORD}`,
      `sentinel down-after-milliseconds ${masterName} 5000`,
      '',
    ].join('\n'),
  );
  servers.start([conf, '--sentinel'], dir.path);
  await until('the sentinel to know the master', async () => {
    const s = new Redis({ port: sentinelPort, lazyConnect: true, maxRetriesPerRequest: 0 });
    s.on('error', () => undefined);
    try {
      await s.connect();
      const addr = (await s.call('SENTINEL', 'get-master-addr-by-name', masterName)) as string[];
      return addr?.[1] === String(masterPort);
    } finally {
      s.disconnect();
    }
  });
  return {
    ...started(servers, dir),
    masterName,
    masterPort,
    sentinelPort,
    url: (password) =>
      `redis-sentinel://${password === undefined ? '' : `:${password}@`}127.0.0.1:${sentinelPort}/${masterName}`,
  };
}

export interface TestCluster extends Started {
  ports: number[];
  /** `redis-cluster://:<password>@<two seed nodes>` (no password: none given). */
  url(password?: string): string;
}

/** Three masters (no replicas) in one Redis Cluster, `cluster_state:ok` on each. */
export async function startRedisCluster(): Promise<TestCluster> {
  if (!hasRedisCli) throw new Error('redis-cli is needed to create a cluster');
  const servers = new RedisServers();
  const dir = await makeTempDir('redis-cluster');
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  for (const port of ports) {
    servers.start(
      [
        ...redisServerArgs(port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
      ],
      dir.path,
    );
  }
  const stop = started(servers, dir);
  try {
    for (const port of ports) await until(`node ${port}`, () => redisPingable(port));
    const create = spawnSync(
      'redis-cli',
      [
        '-a',
        TEST_REDIS_PASSWORD,
        '--no-auth-warning',
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout}`);
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, async () => {
        const r = new Redis({ port, password: TEST_REDIS_PASSWORD, lazyConnect: true });
        r.on('error', () => undefined);
        try {
          await r.connect();
          return String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok');
        } finally {
          r.disconnect();
        }
      });
    }
  } catch (err) {
    await stop.stop();
    throw err;
  }
  return {
    ...stop,
    ports,
    url: (password) =>
      `redis-cluster://${password === undefined ? '' : `:${password}@`}127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
  };
}
