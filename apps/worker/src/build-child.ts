/**
 * Entry of a build child (bundled as dist/build-child.js). Started by the worker inside a private
 * mount namespace; receives one `start` message, runs the build, reports progress and then one
 * `result` or `error`, and exits. SIGTERM (cancel, shutdown) and a lost IPC channel (the worker
 * died) stop the build: the sandbox is killed, everything is cleaned up, then the child exits.
 */
import { createLogger } from '@joblet/logging';
import { asBuildFailure, BuildFailure } from './build/build-failure.js';
import { runBuild } from './build/pipeline.js';
import { StartMessage, type ChildMessage } from './build/protocol.js';

const stop = new AbortController();
const timeout = new AbortController();
let started = false;

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    try {
      process.send(m, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

// When the worker dies our stdout/stderr pipes break; cleaning up must not die of EPIPE.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
process.on('SIGTERM', () => stop.abort(new Error('stopped by the worker')));
process.on('SIGINT', () => stop.abort(new Error('interrupted')));
process.on('disconnect', () => stop.abort(new Error('the worker is gone')));

process.once('message', (raw) => {
  if (started) return;
  started = true;
  void main(raw);
});

async function main(raw: unknown): Promise<void> {
  const parsed = StartMessage.safeParse(raw);
  if (!parsed.success) {
    await send({
      type: 'error',
      error: { code: 'INTERNAL', message: `invalid start message: ${parsed.error.message}` },
      retryable: false,
    });
    process.exit(2);
  }
  const start = parsed.data;
  const { job, config } = start;
  const log = createLogger({
    name: 'build-child',
    level: config.logLevel,
    base: { buildId: job.buildId, arch: job.arch, worker: config.workerName },
  });
  const timer = setTimeout(
    () => timeout.abort(new Error('build timeout')),
    config.buildTimeoutS * 1000,
  );
  const signal = AbortSignal.any([stop.signal, timeout.signal]);
  let code = 0;
  try {
    const artifact = await runBuild(start, (m) => void send(m), signal, log);
    await send({ type: 'result', artifact });
  } catch (err) {
    let failure: BuildFailure;
    if (timeout.signal.aborted) {
      failure = new BuildFailure(
        'BUILD_TIMEOUT',
        `the build exceeded WORKER_BUILD_TIMEOUT_S (${config.buildTimeoutS}s) and was killed`,
      );
    } else if (stop.signal.aborted) {
      failure = new BuildFailure('CANCELED', 'the build was stopped');
    } else {
      failure = asBuildFailure(err);
    }
    if (failure.code === 'INTERNAL') log.error({ err }, 'build failed');
    else log.info({ code: failure.code, message: failure.message }, 'build failed');
    await send({ type: 'error', error: failure.toData(), retryable: failure.retryable });
    code = 1;
  } finally {
    clearTimeout(timer);
  }
  if (process.connected) process.disconnect();
  process.exit(code);
}
