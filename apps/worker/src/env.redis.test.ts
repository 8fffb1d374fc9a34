/** The worker's Redis and store settings, by the contract every farm app meets. */
import { describeRedisEnvContract } from '@joblet/testkit/redis-env';
import { readWorkerEnv } from './env.js';

describeRedisEnvContract({
  label: 'worker',
  user: 'worker',
  base: () => ({ WORKER_PUBLISH: 'false' }),
  read: (env) => {
    const c = readWorkerEnv(env);
    return {
      url: c.redisUrl,
      username: c.redisUsername,
      password: c.redisPassword,
      secretKey: c.storageSecretKey,
    };
  },
});
