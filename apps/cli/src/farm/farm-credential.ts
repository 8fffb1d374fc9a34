/**
 * The single-machine farm's admin credential, made by `rnx farm up` as Docker makes its socket:
 * usable by the user who started the farm and nobody else. The API runs `API_AUTH=token` on
 * 127.0.0.1; `farm up` makes an admin token with the API's own `create-token` command (which
 * writes Redis directly — whoever can do that already is the farm's admin) and saves it in that
 * user's rnx config (0600) under the entry for the farm's URL, where every later `rnx` command
 * finds it. A token that still works for more than 30 days is kept; otherwise a new one (365
 * days) replaces it. The token never appears on a command line, in an environment, or in a file
 * other than the config.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ListTokensResponse } from '@joblet/spec';
import { ApiClient, ApiRequestError } from '../api-client.js';
import { configEntryFor } from '../config.js';
import { saveServerToken, type SavedEntry } from '../config-write.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { runningFarmRedisEnv } from './farm-redis.js';
import { appEntry } from './supervisor.js';

const exec = promisify(execFile);
/** Keep a token with at least this much life left (ms); a new one lasts a year. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const TOKEN_TTL = '365d';
const TOKEN_NAME = 'rnx-farm-up';

export interface FarmCredentialOptions {
  configPath: string;
  apiUrl: string;
  dir: string;
  redisUrl: string;
  prefix: string;
}

export type FarmCredential = SavedEntry & { reused: boolean };

/** Whether `token` is an admin token of the farm at `apiUrl` with more than 30 days left. */
async function stillGood(apiUrl: string, token: string, source: string): Promise<boolean> {
  const client = new ApiClient({ url: apiUrl, source, token: { value: token, source } });
  try {
    const { tokens } = await client.get('/v1/tokens', ListTokensResponse);
    const id = /^jrf_([^_]+)_/.exec(token)?.[1];
    const mine = tokens.find((t) => t.id === id);
    return Boolean(mine && Date.parse(mine.expiresAt) - Date.now() > RENEW_BEFORE_MS);
  } catch (err) {
    // Unknown, expired, revoked (401) or no longer admin (403): make a new one.
    if (err instanceof ApiRequestError && (err.status === 401 || err.status === 403)) return false;
    throw err;
  }
}

/** A new admin token, straight into the farm's Redis by the API's `create-token` command. */
async function createAdminToken(o: FarmCredentialOptions): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    REDIS_URL: o.redisUrl,
    QUEUE_PREFIX: o.prefix,
    API_AUTH: 'token',
    LOG_LEVEL: 'warn',
    ...(await runningFarmRedisEnv(o.dir, o.redisUrl)),
  };
  const args = ['create-token', '--role', 'admin', '--ttl', TOKEN_TTL, '--name', TOKEN_NAME];
  try {
    const { stdout } = await exec(process.execPath, [appEntry('api'), ...args], {
      env,
      timeout: 30_000,
    });
    const token = stdout.trim();
    if (!/^jrf_\S+$/.test(token)) throw new Error(`unexpected output: ${token.slice(0, 40)}`);
    return token;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CliError(
      `could not make the farm's admin token with the API's create-token command (it writes ` +
        `the farm's Redis; a Redis the farm started takes the password in ${o.dir}/redis/, ` +
        `which only the user who started the farm can read): ${(e.stderr || e.message).trim()}`,
      EXIT.FAILED,
    );
  }
}

/** Makes sure the config holds a working admin token for the farm; says what it did. */
export async function ensureFarmToken(o: FarmCredentialOptions): Promise<FarmCredential> {
  const entry = configEntryFor(o.configPath, o.apiUrl);
  const old = entry?.value.token;
  if (old && (await stillGood(o.apiUrl, old, entry.label))) {
    // Rewritten anyway: the same content, with the mode made 0600 again.
    return { ...saveServerToken(o.configPath, o.apiUrl, old), reused: true };
  }
  const token = await createAdminToken(o);
  return { ...saveServerToken(o.configPath, o.apiUrl, token), reused: false };
}
