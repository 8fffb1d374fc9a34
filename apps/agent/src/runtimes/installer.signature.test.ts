// Signed artifacts, with a real store, real tar.zst artifacts and the real installer: the agent
// installs only what a key of AGENT_TRUSTED_KEYS signed, whatever the checksums say, and key
// rotation works by trusting the old and the new key for a while.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeRuntimeStatus, RuntimeIndexEntry } from '@joblet/spec';
import { ArtifactManifest, shortKeyId, type TrustedKey } from '@joblet/artifact';
import { indexKey, runtimeArchiveKey, runtimeManifestKey } from '@joblet/storage';
import { createLogger } from '@joblet/logging';
import { createAgent, type Agent } from '../agent.js';
import { InstallFailureCode } from '../errors.js';
import type { ConvergeResult } from './runtime-sync.service.js';
import {
  TEST_KEY,
  buildArtifact,
  makeTestKey,
  makeWorld,
  publish,
  type Packed,
  type World,
} from '../test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(): Promise<World> {
  const w = await makeWorld();
  cleanups.push(() => w.cleanup());
  return w;
}

/** Every agent's log lines, parsed. */
const logged: { msg: string; runtime?: string; keyId?: string; signedBy?: string[] }[] = [];

async function agent(w: World, node: string, trustedKeys: TrustedKey[]): Promise<Agent> {
  const log = createLogger({
    name: node,
    destination: { write: (l: string) => logged.push(JSON.parse(l) as (typeof logged)[0]) },
  });
  const a = createAgent(w.config(node, { trustedKeys }), { nodeQueue: false, jobs: false, log });
  cleanups.push(() => a.stop(5_000));
  await a.start();
  return a;
}

/** Converges one runtime and returns what the node reports and has on disk. */
async function converge(w: World, a: Agent, name: string, version = '1.0.0') {
  await a.sync.converge(name, version);
  return observe(w, a, name, version);
}

/** The last result for one runtime, what the node reports and what it has on disk. */
async function observe(w: World, a: Agent, name: string, version = '1.0.0') {
  const raw = await w.redis.hget(w.keys.nodeRuntimes(a.config.name), `${name}@${version}`);
  const nameDir = join(a.config.runtimesDir, name);
  return {
    result: a.sync.lastResult(name, version),
    status: raw === null ? undefined : NodeRuntimeStatus.parse(JSON.parse(raw)),
    // Hidden entries too: a `.1.0.0.incoming-…` staging dir left behind would show here.
    entries: existsSync(nameDir) ? readdirSync(nameDir) : [],
    record: existsSync(join(a.config.runtimesDir, '.state', `${name}@${version}.json`)),
  };
}

function failureOf(r: ConvergeResult | undefined) {
  expect(r?.kind).toBe('failed');
  return (r as Extract<ConvergeResult, { kind: 'failed' }>).failure;
}

/**
 * What an attacker with write access to the store (but no signing key) does: uploads another
 * archive under the runtime's key and updates the checksums of its manifest and index entry to
 * match it, keeping the manifest's old signature.
 */
async function replaceArtifact(w: World, name: string, evil: Packed): Promise<void> {
  const version = '1.0.0';
  await w.store.put(runtimeArchiveKey(name, version, 'amd64'), readFileSync(evil.file));
  const manifestKey = runtimeManifestKey(name, version, 'amd64');
  const manifest = ArtifactManifest.parse(await w.store.getJson(manifestKey));
  expect(manifest.signatures).toHaveLength(1);
  const sums = {
    sha256: evil.sha256,
    size: evil.size,
    treeHash: evil.treeHash,
    treeBytes: evil.treeBytes,
  };
  await w.store.putJson(manifestKey, { ...manifest, ...sums });
  const entry = RuntimeIndexEntry.parse(await w.store.getJson(indexKey(name, version)));
  await w.store.putJson(indexKey(name, version), {
    ...entry,
    arches: { amd64: { ...entry.arches.amd64!, ...sums } },
  });
}

describe('Signed artifacts: the agent refuses', () => {
  it('an archive replaced in the store with updated checksums but the old signature', async () => {
    const w = await world();
    const a = await agent(w, 'sig-replaced', [TEST_KEY.trusted]);
    const good = await buildArtifact(w.dir('art'), { name: 'swapped', version: '1.0.0' });
    const evil = await buildArtifact(w.dir('evil'), {
      name: 'swapped',
      version: '1.0.0',
      marker: 'evil',
    });
    await publish(w.store, w.redis, w.keys, good, {
      name: 'swapped',
      version: '1.0.0',
      event: false,
    });
    await replaceArtifact(w, 'swapped', evil);

    const r = await converge(w, a, 'swapped');
    const failure = failureOf(r.result);
    expect(failure.code).toBe(InstallFailureCode.BadSignature);
    expect(failure.retryable).toBe(false);
    expect(r.status?.state).toBe('failed');
    expect(r.status?.error).toBe(
      'manifest runtimes/swapped/1.0.0/amd64/manifest.json has no valid signature by a ' +
        `trusted key: ${shortKeyId(TEST_KEY.trusted.keyId)} (signature does not verify); ` +
        `trusted keys: ${shortKeyId(TEST_KEY.trusted.keyId)} (AGENT_TRUSTED_KEYS)`,
    );
    expect(r.entries).toEqual([]); // nothing installed, no staging dir left
    expect(r.record).toBe(false);
  });

  it('the same replacement of a runtime already installed: the installed tree stays', async () => {
    const w = await world();
    const a = await agent(w, 'sig-in-place', [TEST_KEY.trusted]);
    const good = await buildArtifact(w.dir('art'), { name: 'inplace', version: '1.0.0' });
    await publish(w.store, w.redis, w.keys, good, {
      name: 'inplace',
      version: '1.0.0',
      event: false,
    });
    expect((await converge(w, a, 'inplace')).result?.kind).toBe('installed');
    const evil = await buildArtifact(w.dir('evil'), {
      name: 'inplace',
      version: '1.0.0',
      marker: 'evil',
    });
    await replaceArtifact(w, 'inplace', evil);

    const r = await converge(w, a, 'inplace');
    expect(failureOf(r.result).code).toBe(InstallFailureCode.BadSignature);
    expect(r.entries).toEqual(['1.0.0']);
    const marker = join(a.config.runtimesDir, 'inplace/1.0.0/isolated/data/marker');
    expect(readFileSync(marker, 'utf8')).toBe('inplace@1.0.0');
  });

  it('a manifest without a signature', async () => {
    const w = await world();
    const a = await agent(w, 'sig-none', [TEST_KEY.trusted]);
    const packed = await buildArtifact(w.dir('art'), { name: 'unsigned', version: '1.0.0' });
    const { manifest } = await publish(w.store, w.redis, w.keys, packed, {
      name: 'unsigned',
      version: '1.0.0',
      event: false,
      signWith: [],
    });
    expect(manifest.signatures).toBeUndefined();
    const r = await converge(w, a, 'unsigned');
    expect(failureOf(r.result).code).toBe(InstallFailureCode.BadSignature);
    expect(r.status?.error).toBe(
      'manifest runtimes/unsigned/1.0.0/amd64/manifest.json carries no signature; ' +
        `trusted keys: ${shortKeyId(TEST_KEY.trusted.keyId)} (AGENT_TRUSTED_KEYS)`,
    );
    expect(r.entries).toEqual([]);
  });

  it('a manifest signed by a key it does not trust, naming both', async () => {
    const w = await world();
    const a = await agent(w, 'sig-unknown', [TEST_KEY.trusted]);
    const stranger = makeTestKey();
    const packed = await buildArtifact(w.dir('art'), { name: 'stranger', version: '1.0.0' });
    await publish(w.store, w.redis, w.keys, packed, {
      name: 'stranger',
      version: '1.0.0',
      event: false,
      signWith: [stranger.signing],
    });
    const r = await converge(w, a, 'stranger');
    expect(failureOf(r.result).code).toBe(InstallFailureCode.BadSignature);
    expect(r.status?.error).toBe(
      'manifest runtimes/stranger/1.0.0/amd64/manifest.json has no valid signature by a ' +
        `trusted key: ${shortKeyId(stranger.trusted.keyId)} (not a trusted key); ` +
        `trusted keys: ${shortKeyId(TEST_KEY.trusted.keyId)} (AGENT_TRUSTED_KEYS)`,
    );
    // As data too, with the full key ids: what `rnx runtime info` shows.
    expect(r.status?.failure).toEqual({
      code: 'BAD_SIGNATURE',
      message: r.status?.error,
      details: { signedBy: [stranger.trusted.keyId], trustedKeys: [TEST_KEY.trusted.keyId] },
    });
    expect(r.entries).toEqual([]);
  });

  it('to start without a trusted key', async () => {
    const w = await world();
    expect(() => createAgent(w.config('sig-nokeys', { trustedKeys: [] }))).toThrow(
      'the agent needs at least one trusted signing key (AGENT_TRUSTED_KEYS)',
    );
  });
});

describe('Signed artifacts: key rotation', () => {
  it('accepts the new key while trusting both, and refuses the old one once it is dropped', async () => {
    const w = await world();
    const old = makeTestKey();
    const next = makeTestKey();
    const art = (name: string) => buildArtifact(w.dir(`art-${name}`), { name, version: '1.0.0' });
    const put = async (name: string, signWith: (typeof old)['signing'][]) =>
      publish(w.store, w.redis, w.keys, await art(name), {
        name,
        version: '1.0.0',
        event: false,
        signWith,
      });

    // 1. Agents trust [old, new]; the publisher switched to the new key.
    const during = await agent(w, 'rot-during', [old.trusted, next.trusted]);
    await put('by-new', [next.signing]);
    await put('by-old', [old.signing]);
    expect((await converge(w, during, 'by-new')).result?.kind).toBe('installed');
    expect((await converge(w, during, 'by-old')).result?.kind).toBe('installed');

    // 2. The old key is dropped from the agents (restarted with [new]): at start they install
    // what the new key signed and refuse what only the old one did.
    const after = await agent(w, 'rot-after', [next.trusted]);
    const byNew = await observe(w, after, 'by-new');
    expect(byNew.result?.kind).toBe('installed');
    expect(byNew.entries).toEqual(['1.0.0']);
    const refused = await observe(w, after, 'by-old');
    expect(failureOf(refused.result).code).toBe(InstallFailureCode.BadSignature);
    expect(refused.status?.error).toContain(`${shortKeyId(old.trusted.keyId)} (not a trusted key)`);
    expect(refused.status?.error).toContain(
      `trusted keys: ${shortKeyId(next.trusted.keyId)} (AGENT_TRUSTED_KEYS)`,
    );
    expect(refused.entries).toEqual([]);

    // The logs name the full key id each install was verified with, and a refusal's key ids.
    expect(
      logged.find((l) => l.msg === 'manifest signature verified' && l.runtime === 'by-new@1.0.0')
        ?.keyId,
    ).toBe(next.trusted.keyId);
    expect(
      logged.find((l) => l.msg === 'runtime install failed' && l.runtime === 'by-old@1.0.0')
        ?.signedBy,
    ).toEqual([old.trusted.keyId]);

    // A manifest signed by both keys (a publisher signing with both during the switch) is
    // accepted by agents trusting either.
    await put('by-both', [old.signing, next.signing]);
    expect((await converge(w, after, 'by-both')).result?.kind).toBe('installed');
    const oldOnly = await agent(w, 'rot-old-only', [old.trusted]);
    expect((await observe(w, oldOnly, 'by-both')).result?.kind).toBe('installed');
    expect((await observe(w, oldOnly, 'by-new')).result?.kind).toBe('failed');
  });
});
