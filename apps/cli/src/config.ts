/**
 * Which server `rnx` talks to: `--server`, then `RNX_SERVER`, then the config file
 * (`~/.rnx/rnx-config.yml`), which may name several servers:
 *
 * ```yaml
 * current: local
 * servers:
 *   local: { url: http://127.0.0.1:7070 }
 *   prod:  { url: https://farm.example.com:7443 }
 * ```
 * No server configured means commands that can work offline do so.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { CliEnv } from './env.js';
import { UsageError } from './errors.js';

const ServerEntry = z.object({ url: z.url() }).loose();
const ConfigFile = z.object({
  current: z.string().optional(),
  servers: z.record(z.string(), ServerEntry).default({}),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

export interface ServerConfig {
  url: string;
  /** Where the URL came from, for error messages. */
  source: string;
}

function readConfigFile(path: string): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = ConfigFile.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

export function resolveServer(env: CliEnv, flag?: string): ServerConfig | undefined {
  if (flag) return { url: flag, source: '--server' };
  if (env.RNX_SERVER) return { url: env.RNX_SERVER, source: 'RNX_SERVER' };
  const file = readConfigFile(env.configPath);
  if (!file) return undefined;
  const name = env.RNX_CONTEXT ?? file.current;
  if (!name) return undefined;
  const entry = file.servers[name];
  if (!entry) {
    const known = Object.keys(file.servers).join(', ') || 'none';
    throw new UsageError(`${env.configPath}: no server named "${name}" (known: ${known})`);
  }
  return { url: entry.url, source: `${env.configPath} (${name})` };
}

/** The embedded single-machine farm's API, which `rnx farm up` starts. */
export const LOCAL_FARM_URL = 'http://127.0.0.1:7070';

/**
 * For commands that need a server: the configured one, else the local farm that `rnx farm up`
 * started (its state file names the port), else the default local address.
 */
export function resolveServerOrLocal(
  env: CliEnv,
  flag?: string,
  farmApiUrl?: string,
): ServerConfig {
  return (
    resolveServer(env, flag) ??
    (farmApiUrl ? { url: farmApiUrl, source: 'the local farm (rnx farm up)' } : undefined) ?? {
      url: LOCAL_FARM_URL,
      source: 'the default local farm address',
    }
  );
}
