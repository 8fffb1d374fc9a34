/**
 * `rnx admin signing-key init` (through `main`, as the binary runs it) and the single-machine
 * farm's own key (`rnx farm up`): Ed25519 pairs whose halves belong together, a 0600 private
 * key, never an overwrite by accident, and the operator's own keys left alone.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSigningKeyFile, readTrustedKeyFile } from '@joblet/artifact';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { farmSigningEnv } from './farm/farm-signing-key.js';
import { main } from './index.js';
import type { Io } from './io.js';

let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('rnx-signing-');
});
afterAll(() => tmp?.cleanup());

async function rnx(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), color: false };
  const code = await main(args, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('rnx admin signing-key init', () => {
  it('writes a matching pair (private 0600) and says where each half goes', async () => {
    const dir = join(tmp.path, 'keys');
    const r = await rnx(['admin', 'signing-key', 'init', '--out', dir]);
    expect(r.code).toBe(0);
    const priv = readSigningKeyFile(join(dir, 'signing.pem'));
    const pub = readTrustedKeyFile(join(dir, 'signing.pub.pem'));
    expect(pub.keyId).toBe(priv.keyId);
    expect(statSync(join(dir, 'signing.pem')).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain(`key id        ${priv.keyId}`);
    expect(r.stdout).toContain(`WORKER_SIGNING_KEY_FILE=${join(dir, 'signing.pem')}`);
    expect(r.stdout).toContain(
      `AGENT_TRUSTED_KEYS=<current.pub.pem>,${join(dir, 'signing.pub.pem')}`,
    );

    // Never replaced by accident; --force replaces, --name adds a second key next to it.
    const again = await rnx(['admin', 'signing-key', 'init', '--out', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${join(dir, 'signing.pem')} exists; use --force`);
    expect(readSigningKeyFile(join(dir, 'signing.pem')).keyId).toBe(priv.keyId);
    expect((await rnx(['admin', 'signing-key', 'init', '--out', dir, '--name', 'next'])).code).toBe(
      0,
    );
    expect(readTrustedKeyFile(join(dir, 'next.pub.pem')).keyId).not.toBe(priv.keyId);
    expect((await rnx(['admin', 'signing-key', 'init', '--out', dir, '--force'])).code).toBe(0);
    expect(readSigningKeyFile(join(dir, 'signing.pem')).keyId).not.toBe(priv.keyId);

    const bad = await rnx(['admin', 'signing-key', 'init', '--out', dir, '--name', '../x']);
    expect(bad.code).toBe(2);
    expect((await rnx(['admin', 'signing-key', 'init'])).code).toBe(2); // --out is required
  });
});

describe('rnx farm up: the farm signing key', () => {
  it('is made once in the state dir and given to the worker and the agent', () => {
    const dir = join(tmp.path, 'farm');
    const first = farmSigningEnv(dir, {});
    expect(first).toEqual({
      worker: { WORKER_SIGNING_KEY_FILE: join(dir, 'signing/farm.pem') },
      agent: { AGENT_TRUSTED_KEYS: join(dir, 'signing/farm.pub.pem') },
    });
    const keyId = readSigningKeyFile(join(dir, 'signing/farm.pem')).keyId;
    expect(readTrustedKeyFile(join(dir, 'signing/farm.pub.pem')).keyId).toBe(keyId);
    expect(statSync(join(dir, 'signing/farm.pem')).mode & 0o777).toBe(0o600);
    // The next `rnx farm up` keeps it: installed runtimes stay valid across restarts.
    const pem = readFileSync(join(dir, 'signing/farm.pem'), 'utf8');
    expect(farmSigningEnv(dir, {})).toEqual(first);
    expect(readFileSync(join(dir, 'signing/farm.pem'), 'utf8')).toBe(pem);
  });

  it("leaves the operator's own key settings alone", () => {
    const dir = join(tmp.path, 'farm-own');
    const own = { WORKER_SIGNING_KEY_FILE: '/etc/k.pem', AGENT_TRUSTED_KEYS: '/etc/k.pub.pem' };
    expect(farmSigningEnv(dir, own)).toEqual({ worker: {}, agent: {} });
    expect(farmSigningEnv(dir, { AGENT_TRUSTED_KEYS: '/etc/k.pub.pem' })).toEqual({
      worker: { WORKER_SIGNING_KEY_FILE: join(dir, 'signing/farm.pem') },
      agent: {},
    });
  });
});
