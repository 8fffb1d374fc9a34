/**
 * Which server `rnx` talks to and how it proves who it is: `--server`, then `RNX_SERVER` (each a
 * URL or `host:port`, see server-address.ts), then the config file (`~/.rnx/rnx-config.yml`, or RNX_CONFIG), which may name several servers:
 *
 * ```yaml
 * current: prod
 * servers:
 *   local: { url: http://127.0.0.1:7070 }
 *   prod:
 *     url: https://farm.example.com:7070
 *     ca: ~/.rnx/farm/ca.crt          # the CA that signed the server's certificate
 *     cert: ~/.rnx/farm/developer.crt # client certificate (its OU is your role) …
 *     key: ~/.rnx/farm/developer.key
 *     token: jrf_…                    # … or an API token (keep the file chmod 600)
 * ```
 * Relative paths are relative to the config file. `RNX_CA`, `RNX_CERT`, `RNX_KEY` and `RNX_TOKEN`
 * override the entry's fields. A server's credentials are used only for its own URL: `--server`
 * with another URL gets only what the environment gives, so a token never goes to a server it was
 * not configured for.
 *
 * No server configured means commands that can work offline do so.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { CliEnv } from './env.js';
import { UsageError } from './errors.js';
import { serverUrl } from './server-address.js';

const ServerEntry = z
  .object({
    url: z.url(),
    ca: z.string().min(1).optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
  })
  .loose();
export type ServerEntry = z.infer<typeof ServerEntry>;
export const ConfigFile = z.object({
  current: z.string().optional(),
  servers: z.record(z.string(), ServerEntry).default({}),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

/** A PEM file's contents and where it came from (for error messages). */
export interface PemFile {
  pem: Buffer;
  path: string;
}

export interface ServerConfig {
  url: string;
  /** Where the URL came from, for error messages. */
  source: string;
  ca?: PemFile;
  cert?: PemFile;
  key?: PemFile;
  token?: { value: string; source: string };
  /** Where TLS session tickets are kept between commands (see http/tls-sessions.ts); unset: off. */
  tlsSessionDir?: string;
}

export function readConfigFile(path: string): ConfigFile | undefined {
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

function readPem(path: string, from: string): PemFile {
  try {
    return { pem: readFileSync(path), path };
  } catch (err) {
    throw new UsageError(`${from}: cannot read ${path}: ${(err as Error).message}`);
  }
}

function expand(path: string, base: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(base, path);
}

export const sameUrl = (a: string, b: string) => {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
};

/** Adds credentials: the environment's, else those of the config entry for this URL. */
function withCredentials(
  env: CliEnv,
  server: ServerConfig,
  entry?: { value: ServerEntry; label: string },
): ServerConfig {
  const base = dirname(env.configPath);
  const pem = (variable: 'RNX_CA' | 'RNX_CERT' | 'RNX_KEY', field: 'ca' | 'cert' | 'key') => {
    const fromEnv = env[variable];
    if (fromEnv) return readPem(fromEnv, variable);
    const fromFile = entry?.value[field];
    return fromFile ? readPem(expand(fromFile, base), `${entry.label}.${field}`) : undefined;
  };
  const out: ServerConfig = { ...server };
  const ca = pem('RNX_CA', 'ca');
  const cert = pem('RNX_CERT', 'cert');
  const key = pem('RNX_KEY', 'key');
  if (Boolean(cert) !== Boolean(key))
    throw new UsageError(
      'a client certificate needs its key: set both cert and key (RNX_CERT, RNX_KEY)',
    );
  if (ca) out.ca = ca;
  if (cert && key) Object.assign(out, { cert, key });
  if (env.RNX_TLS_SESSIONS !== 'off') {
    out.tlsSessionDir = env.RNX_TLS_SESSIONS ?? join(homedir(), '.rnx', 'tls-sessions');
  }
  if (env.RNX_TOKEN) out.token = { value: env.RNX_TOKEN, source: 'RNX_TOKEN' };
  else if (entry?.value.token)
    out.token = { value: entry.value.token, source: `${entry.label}.token` };
  return out;
}

/** The config file's entry for `url` (its name and fields), if it has one. */
export function configEntryFor(
  configPath: string,
  url: string,
  file = readConfigFile(configPath),
): { name: string; value: ServerEntry; label: string } | undefined {
  const hit = Object.entries(file?.servers ?? {}).find(([, e]) => sameUrl(e.url, url));
  return hit ? { name: hit[0], value: hit[1], label: `${configPath} (${hit[0]})` } : undefined;
}

export function resolveServer(env: CliEnv, flag?: string): ServerConfig | undefined {
  const file = readConfigFile(env.configPath);
  const label = (name: string) => `${env.configPath} (${name})`;
  const entryFor = (url: string) => configEntryFor(env.configPath, url, file);
  const explicit = (address: string, source: string) => {
    const url = serverUrl(address, {
      source,
      knownUrls: Object.values(file?.servers ?? {}).map((e) => e.url),
      tls: Boolean(env.RNX_CA || env.RNX_CERT),
    });
    return withCredentials(env, { url, source }, entryFor(url));
  };
  if (flag) return explicit(flag, '--server');
  if (env.RNX_SERVER) return explicit(env.RNX_SERVER, 'RNX_SERVER');
  if (!file) return undefined;
  const name = env.RNX_CONTEXT ?? file.current;
  if (!name) return undefined;
  const entry = file.servers[name];
  if (!entry) {
    const known = Object.keys(file.servers).join(', ') || 'none';
    throw new UsageError(`${env.configPath}: no server named "${name}" (known: ${known})`);
  }
  return withCredentials(
    env,
    { url: entry.url, source: label(name) },
    { value: entry, label: label(name) },
  );
}

/** The embedded single-machine farm's API, which `rnx farm up` starts. */
export const LOCAL_FARM_URL = 'http://127.0.0.1:7070';

/**
 * For commands that need a server: the configured one, else the local farm that `rnx farm up`
 * started (its state file names the port), else the default local address — with the config
 * file's credentials for that URL (the admin token `rnx farm up` saved there), if any.
 */
export function resolveServerOrLocal(
  env: CliEnv,
  flag?: string,
  farmApiUrl?: string,
): ServerConfig {
  const configured = resolveServer(env, flag);
  if (configured) return configured;
  const server = farmApiUrl
    ? { url: farmApiUrl, source: 'the local farm (rnx farm up)' }
    : { url: LOCAL_FARM_URL, source: 'the default local farm address' };
  return withCredentials(env, server, configEntryFor(env.configPath, server.url));
}
