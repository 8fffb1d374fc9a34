/**
 * The single-machine farm's manifest-signing key: generated once by `rnx farm up` in
 * `<farm dir>/signing/` (farm.pem 0600, farm.pub.pem) and given to the local worker
 * (WORKER_SIGNING_KEY_FILE) and agent (AGENT_TRUSTED_KEYS), so the default farm signs and
 * verifies with no setup. An operator's own WORKER_SIGNING_KEY_FILE / AGENT_TRUSTED_KEYS win.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSigningKeyFile } from '@joblet/artifact';
import { keyPairPaths, writeKeyPairFiles } from '../signing/key-pair-files.js';

const NAME = 'farm';

/** The farm's key pair files, created on first use; the public half rewritten if it went missing. */
export function ensureFarmSigningKey(farmDir: string): {
  privateKeyFile: string;
  publicKeyFile: string;
} {
  const dir = join(farmDir, 'signing');
  const paths = keyPairPaths(dir, NAME);
  if (!existsSync(paths.privateKeyFile)) return writeKeyPairFiles(dir, NAME, true);
  if (!existsSync(paths.publicKeyFile)) {
    const { privateKey } = readSigningKeyFile(paths.privateKeyFile);
    const pem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    mkdirSync(dir, { recursive: true });
    writeFileSync(paths.publicKeyFile, pem, { mode: 0o644 });
  }
  return paths;
}

/**
 * The signing variables for the farm's worker and agent: the farm's key, except where the
 * operator's environment (`passed`) already sets the variable.
 */
export function farmSigningEnv(
  farmDir: string,
  passed: NodeJS.ProcessEnv,
): { worker: NodeJS.ProcessEnv; agent: NodeJS.ProcessEnv } {
  const needWorker = !passed.WORKER_SIGNING_KEY_FILE;
  const needAgent = !passed.AGENT_TRUSTED_KEYS;
  if (!needWorker && !needAgent) return { worker: {}, agent: {} };
  const key = ensureFarmSigningKey(farmDir);
  return {
    worker: needWorker ? { WORKER_SIGNING_KEY_FILE: key.privateKeyFile } : {},
    agent: needAgent ? { AGENT_TRUSTED_KEYS: key.publicKeyFile } : {},
  };
}
