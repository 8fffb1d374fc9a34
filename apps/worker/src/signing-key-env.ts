/**
 * WORKER_SIGNING_KEY_FILE, loaded at start-up: a publishing worker signs every manifest it
 * promotes, so one without a usable key refuses to start rather than publish what agents refuse.
 * Only publishing workers hold the private key; arch build workers never need it.
 */
import { readSigningKeyFile, type SigningKey } from '@joblet/artifact';

const VAR = 'WORKER_SIGNING_KEY_FILE';

function configError(detail: string): Error {
  return new Error(`invalid worker configuration:\n  ${VAR}: ${detail}`);
}

/**
 * The keys of `value` (comma-separated PEM files). Required when `publish`; loaded and checked
 * whenever set.
 * @throws Error naming the variable and the file.
 */
export function readSigningKeys(value: string | undefined, publish: boolean): SigningKey[] {
  const files = (value ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (files.length === 0) {
    if (!publish) return [];
    throw configError(
      'unset, but WORKER_PUBLISH=true: a publishing worker signs every manifest. Make a key ' +
        'with `rnx admin signing-key init --out DIR` and set it to DIR/signing.pem (or set ' +
        'WORKER_PUBLISH=false on arch-only workers)',
    );
  }
  const keys: SigningKey[] = [];
  for (const f of files) {
    if (!f.startsWith('/')) throw configError(`${f} is not an absolute path`);
    try {
      const key = readSigningKeyFile(f);
      if (!keys.some((k) => k.keyId === key.keyId)) keys.push(key);
    } catch (err) {
      throw configError((err as Error).message);
    }
  }
  return keys;
}
