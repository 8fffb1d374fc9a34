/**
 * A process for `lifecycle.test.ts`: it installs the shutdown path the apps use with steps that
 * print what they do, so the test can send real signals and read the order back. The scenario is
 * the first argument.
 */
import { pino } from 'pino';
import { configOrExit, exitOnStartFailure, onShutdown } from './lifecycle.js';
import { createLogger } from './index.js';

class FakeConfigError extends Error {}

const scenario = process.argv[2] ?? 'drain';
const say = (line: string) => process.stdout.write(`${line}\n`);
// A synchronous destination: the log lines and the steps' own lines interleave in true order.
const log = createLogger({
  name: 'fixture',
  level: 'info',
  destination: pino.destination({ dest: 1, sync: true }),
});
const forever = () => new Promise<void>(() => setInterval(() => undefined, 1_000));
const keepAlive = setInterval(() => undefined, 1_000); // a server's listening socket, say

if (scenario === 'config') {
  configOrExit(() => {
    throw new Error('invalid fixture configuration:\n  FIXTURE_PORT: expected a number');
  });
}
if (scenario === 'start-config')
  exitOnStartFailure(log, new FakeConfigError('fix FIXTURE_ARCH'), {
    app: 'fixture',
    configErrors: [FakeConfigError],
  });
if (scenario === 'start-crash')
  exitOnStartFailure(log, new Error('boom'), {
    app: 'fixture',
    configErrors: [FakeConfigError],
  });

onShutdown({
  log,
  deadlineMs: scenario === 'deadline' ? 500 : 10_000,
  status: () => ({ inFlight: 1 }),
  steps: [
    { name: 'stop taking work', run: () => say('step: stop') },
    {
      name: 'drain',
      run: async () => {
        say('step: drain');
        if (scenario === 'deadline' || scenario === 'twice') await forever();
        await new Promise((r) => setTimeout(r, 200));
        if (scenario === 'failing-step') throw new Error('drain broke');
      },
    },
    {
      name: 'close clients',
      run: () => {
        clearInterval(keepAlive);
        say('step: close');
      },
    },
  ],
});
say('ready');
