/**
 * The worker process: configuration, logger, `createWorker`, and the one shutdown path (the shared
 * lifecycle of `@joblet/logging`). A bad variable, a host that cannot execute WORKER_ARCH, wrong
 * Redis credentials, no working build network or no subordinate ids for rootless builds
 * (/etc/subuid) exit 78 (EX_CONFIG) with what to do.
 */
import {
  configOrExit,
  createLogger,
  exitOnStartFailure,
  onShutdown,
  type Logger,
} from '@joblet/logging';
import { RedisConfigError } from '@joblet/queue';
import { ArchUnsupportedError } from './startup-checks/arch-check.js';
import { BuildNetworkUnavailableError } from './startup-checks/build-network-check.js';
import { BuildUsernsUnavailableError } from './startup-checks/build-userns-check.js';
import { readWorkerEnv } from './env.js';
import { createWorker } from './worker.js';

const config = configOrExit(readWorkerEnv);
const log: Logger = createLogger({
  name: 'worker',
  level: config.logLevel,
  base: { worker: config.name, arch: config.arch },
});

const worker = await createWorker(config, { log }).catch((err: unknown) =>
  exitOnStartFailure(log, err, {
    app: 'worker',
    configErrors: [
      ArchUnsupportedError,
      RedisConfigError,
      BuildNetworkUnavailableError,
      BuildUsernsUnavailableError,
    ],
    fields: { arch: config.arch },
  }),
);

onShutdown({
  log,
  // WORKER_SHUTDOWN_TIMEOUT_S for running builds, then time to hand them back and close: 90 s.
  deadlineMs: (config.shutdownTimeoutS + 90) * 1000,
  status: () => ({ running: worker.runningBuilds().length }),
  steps: [
    // `close()` runs the worker's own order: 1. stop taking jobs; 2. drain running builds until
    // WORKER_SHUTDOWN_TIMEOUT_S, then hand them back to the queue; 3. close the cancel
    // subscriber, the store and the Redis connections; 4. release a binfmt handler it registered.
    // After a second signal, the queue's stalled-job recovery takes the builds up elsewhere.
    { name: 'close worker', run: () => worker.close() },
  ],
});
