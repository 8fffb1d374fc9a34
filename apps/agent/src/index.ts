/**
 * The agent process: configuration, logger, `createAgent`, and the one shutdown path (the shared
 * lifecycle of `@joblet/logging`). A bad variable, a host that cannot execute AGENT_ARCH (no QEMU
 * binfmt_misc handler for a foreign arch) or wrong Redis credentials exit 78 (EX_CONFIG) with what
 * to do.
 */
import { configOrExit, createLogger, exitOnStartFailure, onShutdown } from '@joblet/logging';
import { RedisConfigError } from '@joblet/queue';
import { ArchUnsupportedError } from '@joblet/sandbox';
import { createAgent } from './agent.js';
import { readAgentEnv } from './env.js';
import { JobMirrorError, jobMirrorAllows } from './job-mirrors.js';

const config = configOrExit(readAgentEnv);
const log = createLogger({ name: 'agent', level: config.logLevel });
// The job package mirrors join the egress exceptions at their resolved address and port.
try {
  const mirrors = await jobMirrorAllows(config.jobMirrors ?? {});
  if (mirrors.length > 0) config.egressAllow = [...(config.egressAllow ?? []), ...mirrors];
} catch (err) {
  exitOnStartFailure(log, err, { app: 'agent', configErrors: [JobMirrorError] });
}
const agent = createAgent(config, { log });

// Signals are handled from before the start: a start-up reconcile can take long, and `stop()`
// cuts it short.
onShutdown({
  log,
  // AGENT_SHUTDOWN_TIMEOUT_S for installs and jobs in progress, plus 30 s to close.
  deadlineMs: config.shutdownTimeoutMs + 30_000,
  status: () => ({ busy: agent.sync.busy() }),
  steps: [
    // `stop()` runs the agent's own order: 1. stop following events and taking node-queue work;
    // 2. installs and jobs in progress get AGENT_SHUTDOWN_TIMEOUT_S, then are aborted (their
    // staging removed); 3. a final heartbeat; 4. clients closed. After a second signal, whatever
    // was half-done is cleaned at the next start.
    { name: 'stop agent', run: () => agent.stop() },
  ],
});

try {
  await agent.start();
} catch (err) {
  await agent.stop(0).catch(() => undefined);
  exitOnStartFailure(log, err, {
    app: 'agent',
    configErrors: [ArchUnsupportedError, RedisConfigError],
    fields: { arch: config.arch },
  });
}
