/**
 * Writes a new manifest-signing key pair as two PEM files, `<name>.pem` (private, 0600, for the
 * publishing workers' WORKER_SIGNING_KEY_FILE) and `<name>.pub.pem` (public, for the agents'
 * AGENT_TRUSTED_KEYS). Shared by `rnx admin signing-key init` and `rnx farm up`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateSigningKeyPair } from '@joblet/artifact';

export interface KeyPairFiles {
  keyId: string;
  privateKeyFile: string;
  publicKeyFile: string;
}

/** The file names of the pair `name` in `dir` (absolute). */
export function keyPairPaths(dir: string, name: string): Omit<KeyPairFiles, 'keyId'> {
  const d = resolve(dir);
  return { privateKeyFile: join(d, `${name}.pem`), publicKeyFile: join(d, `${name}.pub.pem`) };
}

/**
 * Generates a pair and writes it; the private key is created 0600 and never replaced unless
 * `force` (an existing file is an error naming it).
 */
export function writeKeyPairFiles(dir: string, name: string, force = false): KeyPairFiles {
  const paths = keyPairPaths(dir, name);
  for (const f of [paths.privateKeyFile, paths.publicKeyFile]) {
    if (!force && existsSync(f)) throw new Error(`${f} exists`);
  }
  mkdirSync(resolve(dir), { recursive: true, mode: 0o755 });
  const pair = generateSigningKeyPair();
  // `wx` unless forced: never clobber a key another process wrote in the meantime.
  const flag = force ? 'w' : 'wx';
  writeFileSync(paths.privateKeyFile, pair.privateKeyPem, { mode: 0o600, flag });
  writeFileSync(paths.publicKeyFile, pair.publicKeyPem, { mode: 0o644, flag });
  return { keyId: pair.keyId, ...paths };
}
