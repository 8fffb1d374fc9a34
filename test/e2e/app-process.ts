/**
 * One app started as systemd starts it: `node apps/<app>/dist/index.js` (what ships: the bundle,
 * built first when missing) with only the environment given, its stdout and stderr collected,
 * SIGKILLed if it outlives `timeoutMs`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface AppRun {
  exited: Promise<number | null>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

export function startApp(app: string, env: Record<string, string>, timeoutMs = 120_000): AppRun {
  const appDir = join(REPO, 'apps', app);
  if (!existsSync(join(appDir, 'dist/index.js'))) {
    execFileSync(process.execPath, ['../../scripts/build-app.mjs'], { cwd: appDir });
  }
  const child = spawn(process.execPath, [join(appDir, 'dist/index.js')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (c) => {
      clearTimeout(timer);
      r(c);
    }),
  );
  return { exited, output: () => output, kill: (s) => child.kill(s) };
}
