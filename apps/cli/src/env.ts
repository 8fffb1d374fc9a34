/** The only place the CLI reads its environment; parsed once. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from './errors.js';

const CliEnv = z.object({
  /**
   * The API server: a URL (`https://farm.example.com:7070`) or `host:port` (see
   * server-address.ts); overrides the config file. Empty means unset (as every variable here).
   */
  RNX_SERVER: z.string().optional(),
  /** Config file path (default `~/.rnx/rnx-config.yml`). */
  RNX_CONFIG: z.string().optional(),
  /** Named server in the config file to use instead of its `current`. */
  RNX_CONTEXT: z.string().optional(),
  /** For CI: an API token (`jrf_…`), sent as `Authorization: Bearer`. */
  RNX_TOKEN: z.string().min(1).optional(),
  /** For CI: PEM files — the CA that signed the server's certificate, a client cert and key. */
  RNX_CA: z.string().min(1).optional(),
  RNX_CERT: z.string().min(1).optional(),
  RNX_KEY: z.string().min(1).optional(),
  /** Directory of saved TLS sessions (default `~/.rnx/tls-sessions`), or `off`. */
  RNX_TLS_SESSIONS: z.string().min(1).optional(),
  /** Default of `rnx farm up --auth` (`token`, or `none` to make every local user admin). */
  API_AUTH: z.string().optional(),
  /**
   * Public keys `rnx runtime provenance --verify` trusts: comma-separated PEM files, as the
   * agents' AGENT_TRUSTED_KEYS (default: the single-machine farm's own public key).
   */
  RNX_TRUSTED_KEYS: z.string().optional(),
  /** State directory of the single-machine farm (`rnx farm up`). */
  JOBLET_FARM_DIR: z.string().default('/var/lib/joblet-farm'),
});
export type CliEnv = z.infer<typeof CliEnv> & { configPath: string };

export function readCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  // An empty variable means unset, as in a shell's `RNX_TOKEN= rnx …` or a CI secret that a
  // fork's pull request does not get (`RNX_TOKEN: ${{ secrets.RNX_TOKEN }}` is then "").
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = CliEnv.safeParse(set);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`environment variable ${String(issue?.path[0])}: ${issue?.message}`);
  }
  return {
    ...parsed.data,
    configPath: parsed.data.RNX_CONFIG ?? join(homedir(), '.rnx', 'rnx-config.yml'),
  };
}
