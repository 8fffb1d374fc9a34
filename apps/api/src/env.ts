/** The API's configuration: the only file that reads `process.env`, parsed once at start-up. */
import { z } from 'zod';
import { ARCHITECTURES } from '@joblet/spec';

const ApiEnv = z.object({
  /** The single-machine default listens on loopback only. */
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(7070),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; hash-tag it (`{joblet}`) on Redis Cluster. */
  QUEUE_PREFIX: z.string().min(1).default('joblet'),
  /** `file:///var/lib/joblet-farm/store` or `s3://bucket?endpoint=http://host:9000`. */
  STORAGE_URL: z.string().default('file:///var/lib/joblet-farm/store'),
  STORAGE_ACCESS_KEY: z.string().optional(),
  STORAGE_SECRET_KEY: z.string().optional(),
  /** Operator's base catalog (YAML/JSON), merged over the built-in one. */
  CATALOG_FILE: z.string().optional(),
  /** Architectures a spec gets when it names none: the pools this farm runs. */
  FARM_ARCHITECTURES: z
    .string()
    .default('amd64')
    .transform((s) => s.split(',').map((a) => a.trim()))
    .pipe(z.array(z.enum(ARCHITECTURES)).min(1)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ApiEnv = z.infer<typeof ApiEnv>;

export function readApiEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  const parsed = ApiEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid API configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
