/**
 * The agent process: configuration, logger, `createAgent`, and the one shutdown path. A host
 * that cannot execute AGENT_ARCH (no QEMU binfmt_misc handler for a foreign arch) exits 78
 * (EX_CONFIG) with what to do, like a bad variable.
 * SIGTERM/SIGINT (once) → stop following events and taking node-queue work → installs in
 * progress get AGENT_SHUTDOWN_TIMEOUT_S, then are aborted (their staging is removed) → final
 * heartbeat → clients closed → exit 0. A second signal exits at once; whatever was half-done is
 * cleaned at the next start.
 */
import { createLogger } from '@joblet/logging';
import { RedisConfigError } from '@joblet/queue';
import { ArchUnsupportedError } from '@joblet/sandbox';
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
  await agent.stop(0).catch(() => undefined);
  if (err instanceof ArchUnsupportedError || err instanceof RedisConfigError) {
    // A configuration problem (this host's arch, Redis credentials), not a crash: say what to
    // do, exit EX_CONFIG.
    log.fatal({ arch: config.arch }, err.message);
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  log.fatal({ err }, 'agent failed to start');
  process.exit(1);
}
