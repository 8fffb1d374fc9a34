/**
 * The agent process: configuration, logger, `createAgent`, and the one shutdown path.
 * SIGTERM/SIGINT (once) → stop following events and taking node-queue work → installs in
 * progress get AGENT_SHUTDOWN_TIMEOUT_S, then are aborted (their staging is removed) → final
 * heartbeat → clients closed → exit 0. A second signal exits at once; whatever was half-done is
 * cleaned at the next start.
 */
import { createLogger } from '@joblet/logging';
import { createAgent } from './agent.js';
import { readAgentEnv } from './env.js';

const config = (() => {
  try {
    return readAgentEnv();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
})();
const log = createLogger({ name: 'agent', level: config.logLevel });
const agent = createAgent(config, { log });

let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(130);
  }
  stopping = true;
  log.info({ signal, busy: agent.sync.busy() }, 'shutting down');
  // Hard stop if even closing hangs: the install deadline plus a margin.
  setTimeout(() => {
    log.error('shutdown did not complete; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs + 30_000).unref();
  agent.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

try {
  await agent.start();
} catch (err) {
  log.fatal({ err }, 'agent failed to start');
  await agent.stop(0).catch(() => undefined);
  process.exit(1);
}
