/** The API's Redis and store settings, by the contract every farm app meets. */
import { describeRedisEnvContract } from '@joblet/testkit/redis-env';
import { readApiEnv } from './env.js';

describeRedisEnvContract({
  label: 'API',
  user: 'api',
  read: (env) => {
    const c = readApiEnv(env);
    return {
      url: c.redis.url,
      username: c.redis.username,
      password: c.redis.password,
      secretKey: c.STORAGE_SECRET_KEY,
    };
  },
});
