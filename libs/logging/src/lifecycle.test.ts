/**
 * The shutdown contract with real processes and real signals: `lifecycle.fixture.ts` runs under
 * tsx with the helper the apps use, and its steps print what they do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EX_CONFIG, EX_INTERRUPTED } from './lifecycle.js';

const FIXTURE = fileURLToPath(new URL('./lifecycle.fixture.ts', import.meta.url));

interface Child {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout holds `text`. */
  waitFor(text: string): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function start(scenario: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    for (const w of waiters.filter((x) => out.includes(x.text))) w.resolve();
  });
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  let signalledAt = 0;
  const kill = child.kill.bind(child);
  child.kill = (signal?: NodeJS.Signals | number) => {
    signalledAt ||= Date.now();
    return kill(signal);
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (text) =>
      out.includes(text)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ text, resolve })),
    exit: new Promise((resolve) =>
      child.once('exit', (code, signal) =>
        resolve({ code, signal, ms: signalledAt ? Date.now() - signalledAt : 0 }),
      ),
    ),
  };
}

/** The fixture's lines in order: its own `step:` lines and the pino messages. */
function lines(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string }).msg : l));
}

describe('onShutdown', () => {
  it('SIGTERM once: stop taking work, drain, close clients — in order — then exit 0', async () => {
    const c = start('drain');
    await c.waitFor('ready');
    c.child.kill('SIGTERM');
    const { code } = await c.exit;
    expect(code).toBe(0);
    expect(lines(c.stdout())).toEqual([
      'ready',
      'shutting down',
      'step: stop',
      'step: drain',
      'step: close',
    ]);
    // What the process was doing when the signal came is in the log line.
    expect(c.stdout()).toContain('"signal":"SIGTERM","inFlight":1');
  });

  it('SIGINT is a shutdown signal too', async () => {
    const c = start('drain');
    await c.waitFor('ready');
    c.child.kill('SIGINT');
    expect((await c.exit).code).toBe(0);
    expect(c.stdout()).toContain('step: close');
  });

  it('a second signal during the drain exits 130 at once, without closing', async () => {
    const c = start('twice');
    await c.waitFor('ready');
    c.child.kill('SIGTERM');
    await c.waitFor('step: drain');
    c.child.kill('SIGINT');
    const { code } = await c.exit;
    expect(code).toBe(EX_INTERRUPTED);
    expect(lines(c.stdout())).toContain('second signal: exiting now');
    expect(c.stdout()).not.toContain('step: close');
  });

  it('a drain that outlives the deadline is cut: exit 1 soon after the deadline', async () => {
    const c = start('deadline');
    await c.waitFor('ready');
    c.child.kill('SIGTERM');
    const { code, ms } = await c.exit;
    expect(code).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(5_000);
    expect(lines(c.stdout())).toContain('shutdown did not complete; exiting');
    expect(c.stdout()).not.toContain('step: close');
  });

  it('a failing step is logged, the later steps still run, and the exit code is 1', async () => {
    const c = start('failing-step');
    await c.waitFor('ready');
    c.child.kill('SIGTERM');
    expect((await c.exit).code).toBe(1);
    const seen = lines(c.stdout());
    expect(seen).toContain('shutdown step failed');
    // The close step runs only after the failed drain (steps are sequential); the logger writes
    // asynchronously, so the order of the two lines on stdout says nothing.
    expect(seen).toContain('step: close');
    expect(c.stdout()).toContain('"step":"drain"');
  });
});

describe('configuration and start failures', () => {
  it('a bad configuration exits 78 naming the variable on stderr', async () => {
    const c = start('config');
    expect((await c.exit).code).toBe(EX_CONFIG);
    expect(c.stderr()).toContain('FIXTURE_PORT: expected a number');
    expect(c.stdout()).not.toContain('ready');
  });

  it('a start that fails on configuration exits 78 with its message; any other failure exits 1', async () => {
    const config = start('start-config');
    expect((await config.exit).code).toBe(EX_CONFIG);
    expect(config.stderr()).toContain('fix FIXTURE_ARCH');
    const crash = start('start-crash');
    expect((await crash.exit).code).toBe(1);
    expect(lines(crash.stdout())).toEqual(['fixture failed to start']);
  });
});
