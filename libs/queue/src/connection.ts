import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConfig {
  /** `redis://[:password@]host:port[/db]` */
  url: string;
  /** BullMQ workers need `null` so blocking commands are never cut short. */
  forWorker?: boolean;
}

/** One ioredis connection configured the way BullMQ needs it. */
export function createRedis(cfg: RedisConfig): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: cfg.forWorker ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
  };
  return new Redis(cfg.url, options);
}
