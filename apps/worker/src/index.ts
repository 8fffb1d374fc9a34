/**
 * The worker process: configuration, logger, `createWorker`, and the one shutdown path.
 * SIGTERM/SIGINT (once) → stop taking jobs → running builds get WORKER_SHUTDOWN_TIMEOUT_S to
 * finish, then are handed back to the queue → clients closed → exit. A second signal exits at
 * once (the queue's stalled-job recovery then takes the builds up elsewhere).
 */
import { createLogger } from '@joblet/logging';
import { RedisConfigError } from '@joblet/queue';
import { ArchUnsupportedError } from './startup-checks/arch-check.js';
import { BuildNetworkUnavailableError } from './startup-checks/build-network-check.js';
import { readWorkerEnv } from './env.js';
import { createWorker } from './worker.js';

const config = (() => {
  try {
    return readWorkerEnv();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
})();
const log = createLogger({
  name: 'worker',
  level: config.logLevel,
  base: { worker: config.name, arch: config.arch },
});

try {
  const worker = await createWorker(config, { log });
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal, running: worker.runningBuilds().length }, 'shutting down');
    // Hard stop if even closing hangs: deadline + hand-back time + a margin.
    const hard = setTimeout(
      () => {
        log.error('shutdown did not complete; exiting');
        process.exit(1);
      },
      (config.shutdownTimeoutS + 90) * 1000,
    );
    hard.unref();
    worker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  if (
    err instanceof ArchUnsupportedError ||
    err instanceof RedisConfigError ||
    err instanceof BuildNetworkUnavailableError
  ) {
    // A configuration problem (this host's arch, Redis credentials, build network), not a
    // crash: say what to do, exit EX_CONFIG.
    log.fatal({ arch: config.arch }, err.message);
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  log.fatal({ err }, 'worker failed to start');
  process.exit(1);
}
