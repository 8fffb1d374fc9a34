/** The agent's Redis and store settings, by the contract every farm app meets. */
import { join } from 'node:path';
import { writeTestKeyPair } from '@joblet/testkit';
import { describeRedisEnvContract } from '@joblet/testkit/redis-env';
import { readAgentEnv } from './env.js';

describeRedisEnvContract({
  label: 'agent',
  user: 'agent',
  base: (dir) => ({
    AGENT_ARCH: 'amd64',
    AGENT_TRUSTED_KEYS: writeTestKeyPair(join(dir, 'keys')).publicKeyFile,
  }),
  read: (env) => {
    const c = readAgentEnv(env);
    return {
      url: c.redisUrl,
      username: c.redisUsername,
      password: c.redisPassword,
      secretKey: c.storageSecretKey,
    };
  },
});
