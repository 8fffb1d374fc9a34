/**
 * The Ed25519 keys that sign artifact manifests, as the publisher (private key) and the agents
 * (public keys) load them: PEM files (PKCS#8 private, SPKI public), parsed by node:crypto. A key
 * is named by its id, the hex sha256 of its public key's SPKI DER, so a manifest says which key
 * signed it and an operator can match ids across the publisher, the agents and the logs.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The only signature algorithm manifests use. */
export const SIGNATURE_ALG = 'ed25519';

/** A private key the publisher signs with. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

/** A public key an agent accepts signatures of. */
export interface TrustedKey {
  keyId: string;
  publicKey: KeyObject;
}

/** A new key pair in PEM, as `rnx admin signing-key init` and `rnx farm up` write it. */
export interface GeneratedKeyPair {
  keyId: string;
  /** PKCS#8 PEM: keep it on the publishing workers only (mode 0600). */
  privateKeyPem: string;
  /** SPKI PEM: give it to every agent. */
  publicKeyPem: string;
}

/** Hex sha256 of the public key's SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

export function generateSigningKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * A PEM Ed25519 private key. `what` names the source (a file) in errors.
 * @throws Error saying what is wrong with it.
 */
export function parseSigningKey(pem: string, what = 'the key'): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`${what} is not a PEM private key (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (privateKey.asymmetricKeyType !== SIGNATURE_ALG) {
    throw new Error(
      `${what} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 key`,
    );
  }
  return { keyId: keyIdOf(createPublicKey(privateKey)), privateKey };
}

/**
 * A PEM Ed25519 public key. A private key is refused: agents must never hold one.
 * @throws Error saying what is wrong with it.
 */
export function parseTrustedKey(pem: string, what = 'the key'): TrustedKey {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new Error(`${what} is a private key; agents take the public key only`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`${what} is not a PEM public key (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (publicKey.asymmetricKeyType !== SIGNATURE_ALG) {
    throw new Error(
      `${what} is a ${publicKey.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 key`,
    );
  }
  return { keyId: keyIdOf(publicKey), publicKey };
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path} (${code ?? (err as Error).message})`, { cause: err });
  }
}

/** The private key in the PEM file at `path`. */
export function readSigningKeyFile(path: string): SigningKey {
  return parseSigningKey(readPem(path), path);
}

/** The public key in the PEM file at `path`. */
export function readTrustedKeyFile(path: string): TrustedKey {
  return parseTrustedKey(readPem(path), path);
}
