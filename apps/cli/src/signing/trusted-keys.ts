/**
 * The keys `rnx` trusts when it verifies what the farm signed (provenance, manifests): the
 * same Ed25519 public keys the agents trust. From `--trusted-key FILE` flags, else
 * RNX_TRUSTED_KEYS (comma-separated files, like AGENT_TRUSTED_KEYS), else the public key of the
 * single-machine farm `rnx farm up` made (`<JOBLET_FARM_DIR>/signing/farm.pub.pem`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readTrustedKeyFile, type TrustedKey } from '@joblet/artifact';
import type { CliEnv } from '../env.js';
import { UsageError } from '../errors.js';
import { keyPairPaths } from './key-pair-files.js';

export interface TrustedKeys {
  keys: TrustedKey[];
  /** Where they came from, for messages. */
  from: string;
}

export function cliTrustedKeys(env: CliEnv, flags: readonly string[] = []): TrustedKeys {
  const fromEnv = (env.RNX_TRUSTED_KEYS ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const farmKey = keyPairPaths(join(env.JOBLET_FARM_DIR, 'signing'), 'farm').publicKeyFile;
  const [files, from] =
    flags.length > 0
      ? [flags, '--trusted-key']
      : fromEnv.length > 0
        ? [fromEnv, 'RNX_TRUSTED_KEYS']
        : existsSync(farmKey)
          ? [[farmKey], `the local farm's key ${farmKey}`]
          : [[], ''];
  if (files.length === 0) {
    throw new UsageError(
      'no trusted key to verify with: pass --trusted-key FILE (the public key the agents have ' +
        'in AGENT_TRUSTED_KEYS) or set RNX_TRUSTED_KEYS',
    );
  }
  const keys: TrustedKey[] = [];
  for (const f of files) {
    try {
      const k = readTrustedKeyFile(f);
      if (!keys.some((x) => x.keyId === k.keyId)) keys.push(k);
    } catch (err) {
      throw new UsageError(`${from}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { keys, from };
}
