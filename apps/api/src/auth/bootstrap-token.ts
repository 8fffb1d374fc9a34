/**
 * `node apps/api/dist/index.js create-token --role admin [--ttl 1d] [--name bootstrap]`: makes a
 * token straight in Redis, for the first admin of a farm that runs `API_AUTH=token` (no client
 * certificates to call `POST /v1/tokens` with). Whoever can run this can write Redis, which is
 * already everything, so it grants nothing new.
 */
import { parseArgs } from 'node:util';
import { createRedisConnection } from '@joblet/queue';
import { CreateTokenRequest } from '@joblet/spec';
import type { ApiEnv } from '../env.js';
import { TokenService } from '../services/token-service.js';
import { AuthKeys } from './auth-keys.js';

/** Runs the command when `argv` names it; false when it does not (start the API instead). */
export async function runTokenCommand(argv: string[], env: ApiEnv): Promise<boolean> {
  if (argv[0] !== 'create-token') return false;
  const { values } = parseArgs({
    args: argv.slice(1),
    options: { role: { type: 'string' }, ttl: { type: 'string' }, name: { type: 'string' } },
  });
  const req = CreateTokenRequest.safeParse({
    role: values.role,
    ttl: values.ttl ?? '1d',
    ...(values.name ? { name: values.name } : {}),
  });
  if (!req.success) {
    process.stderr.write(
      `usage: create-token --role reader|developer|maintainer|admin [--ttl 1d] [--name NAME]\n` +
        `${req.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}\n`,
    );
    process.exitCode = 2;
    return true;
  }
  const redis = createRedisConnection({ ...env.redis, prefix: env.QUEUE_PREFIX });
  try {
    const tokens = new TokenService(redis, new AuthKeys(env.QUEUE_PREFIX));
    const t = await tokens.create(req.data, {
      kind: 'local',
      subject: 'api-create-token',
      role: 'admin',
    });
    process.stdout.write(`${t.token}\n`);
    process.stderr.write(`token ${t.id} (${t.name}): role ${t.role}, expires ${t.expiresAt}\n`);
  } finally {
    redis.disconnect();
  }
  return true;
}
