/**
 * AGENT_TRUSTED_KEYS, loaded at start-up: the public keys whose signatures the agent accepts on
 * artifact manifests. Secure by default: an agent without one refuses to start, since it could
 * install nothing (and must never install unsigned artifacts).
 */
import { readTrustedKeyFile, type TrustedKey } from '@joblet/artifact';

const VAR = 'AGENT_TRUSTED_KEYS';

function configError(detail: string): Error {
  return new Error(`invalid agent configuration:\n  ${VAR}: ${detail}`);
}

/**
 * The keys of `value`: comma-separated absolute paths of PEM Ed25519 public key files.
 * @throws Error naming the variable and the file.
 */
export function readTrustedKeys(value: string | undefined): TrustedKey[] {
  const files = (value ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (files.length === 0) {
    throw configError(
      'unset: the agent installs only artifacts signed by a key it trusts. Set it to the ' +
        "publisher's public key file(s), comma-separated (`rnx admin signing-key init` " +
        'makes a pair; `rnx farm up` sets it by itself)',
    );
  }
  const keys: TrustedKey[] = [];
  for (const f of files) {
    if (!f.startsWith('/')) throw configError(`${f} is not an absolute path`);
    try {
      const key = readTrustedKeyFile(f);
      if (!keys.some((k) => k.keyId === key.keyId)) keys.push(key);
    } catch (err) {
      throw configError((err as Error).message);
    }
  }
  return keys;
}
