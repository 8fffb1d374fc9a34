/**
 * The API's logger: the shared pino setup plus redaction of what this process holds — the Redis
 * URL (it may carry a password), the store's keys, bearer tokens, and the arguments of a failed
 * Redis command (a failed `AUTH` carries the password). Values are replaced, never logged.
 */
import { REDACT_PATHS, createLogger, type Logger } from '@joblet/logging';

export const API_REDACT_PATHS = [
  ...REDACT_PATHS,
  'REDIS_URL',
  '*.REDIS_URL',
  'redisUrl',
  '*.redisUrl',
  'REDIS_PASSWORD',
  '*.REDIS_PASSWORD',
  'STORAGE_ACCESS_KEY',
  '*.STORAGE_ACCESS_KEY',
  'STORAGE_SECRET_KEY',
  '*.STORAGE_SECRET_KEY',
  'accessKey',
  '*.accessKey',
  'headers.authorization',
  'err.command.args',
  '*.err.command.args',
];

export function createApiLogger(
  level: string,
  destination?: Parameters<typeof createLogger>[0]['destination'],
): Logger {
  return createLogger({ name: 'api', level, destination }).child(
    {},
    { redact: { paths: API_REDACT_PATHS, censor: '[redacted]' } },
  );
}

/** A URL fit for a log line: any user name and password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? 'redacted' : '';
      u.password = u.password ? 'redacted' : '';
    }
    return u.href;
  } catch {
    return '[unparseable URL]';
  }
}
