/**
 * A Redis server of the test's own that the test can take away and bring back on the same port,
 * keeping its data (AOF, fsync on every write, as a production Redis with persistence), to stage
 * the faults a restart or failover causes: clients see refused connections for `downMs`, then
 * the same data again.
 */
import { once } from 'node:events';
import { freePort } from './free-port.js';
import {
  RedisServers,
  TEST_REDIS_PASSWORD,
  redisPingable,
  redisServerArgs,
  until,
} from './redis-servers.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

export interface RestartableRedis {
  port: number;
  /** `redis://:<password>@127.0.0.1:<port>`. */
  url: string;
  dir: TempDir;
  /** Stops the server (SIGKILL: no goodbye to clients), waits `downMs`, starts it again. */
  restart(downMs: number): Promise<void>;
  /** Stops the server (SIGKILL); `start()` brings it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const dir = await makeTempDir('redis-restartable');
  const port = await freePort();
  // The usual test server, but persistent: every write is in the AOF before it is answered.
  const args = [
    ...redisServerArgs(port).map((a, i, all) => (all[i - 1] === '--appendonly' ? 'yes' : a)),
    '--appendfsync',
    'always',
    '--dir',
    dir.path,
  ];
  let servers = new RedisServers();
  const start = async () => {
    servers = new RedisServers();
    servers.start(args, dir.path);
    await until(`redis-server on ${port}`, () => redisPingable(port), 30_000);
  };
  const kill = async () => {
    for (const p of servers.procs) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      p.kill('SIGKILL');
      await once(p, 'exit');
    }
  };
  await start();
  return {
    port,
    url: `redis://:${TEST_REDIS_PASSWORD}@127.0.0.1:${port}`,
    dir,
    async restart(downMs) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    kill,
    start,
    async stop() {
      await servers.stopAll();
      await dir.cleanup();
    },
  };
}
