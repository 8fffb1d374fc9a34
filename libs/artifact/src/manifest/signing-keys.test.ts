import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  generateSigningKeyPair,
  keyIdOf,
  parseSigningKey,
  parseTrustedKey,
  readSigningKeyFile,
  readTrustedKeyFile,
} from './signing-keys.js';

describe('signing keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'signing-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are Ed25519 PEM pairs whose id is the sha256 of the public key (SPKI DER)', () => {
    const g = generateSigningKeyPair();
    expect(g.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(g.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const der = createPublicKey(g.publicKeyPem).export({ type: 'spki', format: 'der' });
    expect(g.keyId).toBe(createHash('sha256').update(der).digest('hex'));
    expect(parseSigningKey(g.privateKeyPem).keyId).toBe(g.keyId);
    expect(parseTrustedKey(g.publicKeyPem).keyId).toBe(g.keyId);
    expect(keyIdOf(createPublicKey(g.publicKeyPem))).toBe(g.keyId);
    expect(generateSigningKeyPair().keyId).not.toBe(g.keyId);
  });

  it('load from files, naming a missing or unreadable file', () => {
    const g = generateSigningKeyPair();
    writeFileSync(join(dir, 'k.pem'), g.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'k.pub.pem'), g.publicKeyPem);
    expect(readSigningKeyFile(join(dir, 'k.pem')).keyId).toBe(g.keyId);
    expect(readTrustedKeyFile(join(dir, 'k.pub.pem')).keyId).toBe(g.keyId);
    expect(() => readTrustedKeyFile(join(dir, 'nope.pem'))).toThrow(
      `cannot read ${join(dir, 'nope.pem')} (ENOENT)`,
    );
  });

  it('refuse other key types, garbage, and a private key where a public one belongs', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rsaPub = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parseSigningKey(rsaPem, 'k.pem')).toThrow(
      'k.pem is a rsa key, not an Ed25519 key',
    );
    expect(() => parseTrustedKey(rsaPub, 'k.pub')).toThrow(
      'k.pub is a rsa key, not an Ed25519 key',
    );
    expect(() => parseSigningKey('hello', 'k.pem')).toThrow(/^k\.pem is not a PEM private key/);
    expect(() => parseTrustedKey('hello', 'k.pub')).toThrow(/^k\.pub is not a PEM public key/);
    const g = generateSigningKeyPair();
    expect(() => parseTrustedKey(g.privateKeyPem, 'k.pub')).toThrow(
      'k.pub is a private key; agents take the public key only',
    );
    expect(() => parseSigningKey(g.publicKeyPem, 'k.pem')).toThrow(/not a PEM private key/);
  });
});
