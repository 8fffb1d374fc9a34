/**
 * pino setup shared by every process: JSON lines by default, pretty only on a TTY when pino-pretty
 * is installed, secrets redacted. Bind ids with `logger.child({ buildId, arch })`. And the process
 * lifecycle (`lifecycle.ts`): exit 78 on a bad configuration, one shutdown path on SIGTERM/SIGINT.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secretKey',
  '*.secretKey',
  'authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface CreateLoggerOptions {
  name: string;
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  destination?: pino.DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(opts: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export {
  EX_CONFIG,
  EX_INTERRUPTED,
  configOrExit,
  exitOnStartFailure,
  onShutdown,
  type ErrorClass,
  type ShutdownHandle,
  type ShutdownOptions,
  type ShutdownStep,
  type StartFailureOptions,
} from './lifecycle.js';
export {
  gateWork,
  readinessOf,
  startHealthServer,
  type CheckResult,
  type HealthServer,
  type ReadyCheck,
  type Readiness,
} from './health.js';
