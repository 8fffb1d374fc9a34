/**
 * Ed25519 key pairs for tests that publish artifacts and start agents or publishing workers: the
 * PEM files those apps are configured with (WORKER_SIGNING_KEY_FILE, AGENT_TRUSTED_KEYS). Plain
 * node:crypto, so testkit needs no other workspace package.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestKeyFiles {
  /** PKCS#8 PEM private key file (mode 0600). */
  privateKeyFile: string;
  /** SPKI PEM public key file. */
  publicKeyFile: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A new Ed25519 key pair written to `<dir>/<name>.pem` and `<dir>/<name>.pub.pem`. */
export function writeTestKeyPair(dir: string, name = 'signing'): TestKeyFiles {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  mkdirSync(dir, { recursive: true });
  const privateKeyFile = join(dir, `${name}.pem`);
  const publicKeyFile = join(dir, `${name}.pub.pem`);
  writeFileSync(privateKeyFile, privateKeyPem, { mode: 0o600 });
  writeFileSync(publicKeyFile, publicKeyPem, { mode: 0o644 });
  return { privateKeyFile, publicKeyFile, privateKeyPem, publicKeyPem };
}
