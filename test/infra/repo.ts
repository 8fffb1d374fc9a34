/**
 * What the infra tests check deployment files against: the repository root, and the environment
 * variables each app really reads — the keys of the zod object in its `src/env.ts`, the only file
 * that reads `process.env`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type App = 'api' | 'worker' | 'agent';
export const APPS: readonly App[] = ['api', 'worker', 'agent'];

const ENV_OBJECT: Record<App, string> = { api: 'ApiEnv', worker: 'WorkerEnv', agent: 'AgentEnv' };

/** Names of the variables `apps/<app>/src/env.ts` declares, in file order. */
export function appEnvKeys(app: App): string[] {
  const src = readFileSync(join(REPO, 'apps', app, 'src', 'env.ts'), 'utf8');
  const start = src.indexOf(`const ${ENV_OBJECT[app]} = z.object({`);
  if (start < 0)
    throw new Error(`apps/${app}/src/env.ts: no "const ${ENV_OBJECT[app]} = z.object({"`);
  const end = src.indexOf('\n});', start);
  const body = src.slice(start, end);
  // Top-level keys only: two spaces of indentation, as prettier writes them.
  const keys = [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  if (keys.length < 5) throw new Error(`apps/${app}/src/env.ts: found only ${keys.length} keys`);
  return keys;
}

/** Every file under `dir` (relative to the repo) whose name matches `pattern`, recursively. */
export function filesUnder(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (pattern.test(name)) out.push(p);
    }
  };
  walk(join(REPO, dir));
  return out;
}

/** True when `cmd --version` (or `args`) runs. */
export function hasCommand(cmd: string, args: string[] = ['--version']): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** Durations as compose, systemd and Kubernetes write them (`15m`, `90s`, `1m30s`, `15min`) → s. */
export function durationS(text: string | number): number {
  if (typeof text === 'number') return text;
  const units: Record<string, number> = { h: 3600, min: 60, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  let rest = text.trim();
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)\s*(h|min|ms|m|s)?/.exec(rest);
    if (!m || m[0] === '') throw new Error(`not a duration: "${text}"`);
    total += Number(m[1]) * units[m[2] ?? 's']!;
    rest = rest.slice(m[0].length).trim();
  }
  return total;
}
