import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeRuntimeStatus } from '@joblet/spec';
import { runtimeManifestKey } from '@joblet/storage';
import { silentLogger } from '@joblet/logging';
import { createAgent, type Agent, type AgentDeps } from '../agent.js';
import { InstallFailureCode } from '../errors.js';
import { InProcessExtractor, findExtractChild } from './extractor.js';
import type { ConvergeResult } from './runtime-sync.service.js';
import {
  buildArtifact,
  isRoot,
  makeSmallTree,
  makeWorld,
  publish,
  x,
  type Packed,
  type World,
} from '../test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  over = {},
  deps: (w: World) => AgentDeps = () => ({}),
): Promise<{ w: World; a: Agent }> {
  const w = await makeWorld();
  cleanups.push(() => w.cleanup());
  const a = createAgent(w.config('inst', over), { nodeQueue: false, ...deps(w) });
  cleanups.push(() => a.stop(5_000));
  await a.start();
  return { w, a };
}

/** Publishes without an event and converges directly: the result, the status, the node's dir. */
async function installOnce(w: World, a: Agent, packed: Packed, name: string, archiveFile?: string) {
  await publish(w.store, w.redis, w.keys, packed, {
    name,
    version: '1.0.0',
    event: false,
    ...(archiveFile !== undefined && { archiveFile }),
  });
  await a.sync.converge(name, '1.0.0');
  const raw = await w.redis.hget(w.keys.nodeRuntimes('inst'), `${name}@1.0.0`);
  return {
    result: a.sync.lastResult(name, '1.0.0'),
    status: raw === null ? undefined : NodeRuntimeStatus.parse(JSON.parse(raw)),
    left: readdirSync(a.config.runtimesDir).filter((n) => !n.startsWith('.')),
    nameDir: (() => {
      try {
        return readdirSync(join(a.config.runtimesDir, name));
      } catch {
        return [];
      }
    })(),
  };
}

function failureOf(r: ConvergeResult | undefined) {
  expect(r?.kind).toBe('failed');
  return (r as Extract<ConvergeResult, { kind: 'failed' }>).failure;
}

describe('Installer refuses', () => {
  it('an artifact tampered with in the store (checksum), reported failed, nothing installed', async () => {
    const { w, a } = await setup();
    const packed = await buildArtifact(w.dir('art'), { name: 'tamper', version: '1.0.0' });
    const bytes = readFileSync(packed.file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const evil = join(w.dir('art'), 'tampered.tar.zst');
    writeFileSync(evil, bytes);
    const r = await installOnce(w, a, packed, 'tamper', evil);
    const failure = failureOf(r.result);
    expect(failure.code).toBe(InstallFailureCode.ChecksumMismatch);
    expect(r.status?.state).toBe('failed');
    expect(r.status?.error).toMatch(
      /checksum mismatch: archive sha256 [0-9a-f]{64} does not match/,
    );
    expect(r.status?.error).toContain(packed.sha256);
    expect(r.nameDir).toEqual([]);
    // Not even an empty `tamper/`, which would outlive the runtime's removal.
    expect(r.left).toEqual([]);
  });

  it('the same way when extracting in the agent process (no extraction child)', async () => {
    const { w, a } = await setup({}, (world) => ({
      extractor: new InProcessExtractor(world.store, silentLogger()),
    }));
    const packed = await buildArtifact(w.dir('art'), { name: 'inproc', version: '1.0.0' });
    const bytes = readFileSync(packed.file);
    bytes[100]! ^= 0xff;
    const evil = join(w.dir('art'), 'tampered.tar.zst');
    writeFileSync(evil, bytes);
    expect(findExtractChild()).toBeDefined(); // the other tests do use the child
    const r = await installOnce(w, a, packed, 'inproc', evil);
    expect(failureOf(r.result).code).toBe(InstallFailureCode.ChecksumMismatch);
    expect(r.nameDir).toEqual([]);
  });

  it('a tree that does not hash to the published tree hash', async () => {
    const { w, a } = await setup();
    const packed = await buildArtifact(w.dir('art'), { name: 'treehash', version: '1.0.0' });
    const r = await installOnce(w, a, { ...packed, treeHash: 'f'.repeat(64) }, 'treehash');
    expect(failureOf(r.result).code).toBe(InstallFailureCode.TreeHashMismatch);
    expect(r.status?.error).toContain(`does not match the expected ${'f'.repeat(64)}`);
    expect(r.nameDir).toEqual([]);
  });

  it('a manifest that does not match the index entry', async () => {
    const { w, a } = await setup();
    const packed = await buildArtifact(w.dir('art'), { name: 'stale', version: '1.0.0' });
    const { manifest } = await publish(w.store, w.redis, w.keys, packed, {
      name: 'stale',
      version: '1.0.0',
      event: false,
    });
    await w.store.putJson(runtimeManifestKey('stale', '1.0.0', 'amd64'), {
      ...manifest,
      sha256: 'e'.repeat(64),
    });
    await a.sync.converge('stale', '1.0.0');
    const failure = failureOf(a.sync.lastResult('stale', '1.0.0'));
    expect(failure.code).toBe(InstallFailureCode.BadManifest);
    expect(failure.message).toContain('does not match the index entry (sha256)');
  });

  it('an install that would leave less free disk than the margin, with a clear message', async () => {
    const { w, a } = await setup({ minFreeBytes: 1024 ** 5 }); // 1 PiB margin
    const packed = await buildArtifact(w.dir('art'), { name: 'big', version: '1.0.0' });
    const r = await installOnce(w, a, packed, 'big');
    expect(failureOf(r.result).code).toBe(InstallFailureCode.NoDisk);
    expect(r.status?.state).toBe('failed');
    expect(r.status?.error).toMatch(
      /^not enough disk in \/.+: the runtime needs \d+ MB, \d+ MB free would be left, margin 1073741824 MB \(AGENT_MIN_FREE_MB\)$/,
    );
    expect(r.nameDir).toEqual([]);
  });
});

/**
 * Crafted archives with real GNU tar: a valid runtime.yml and isolated/, plus one evil member.
 * The manifest carries the crafted archive's own sha256, so only the member checks stop it.
 */
describe('Installer refuses crafted archives and writes nothing outside staging', () => {
  async function crafted(
    label: string,
    evil: (src: string, target: string) => string[],
    expectEntry: RegExp,
  ): Promise<void> {
    const { w, a } = await setup();
    const target = w.dir(`target-${label}`); // a host directory the attack aims at
    const src = w.dir(`src-${label}`);
    makeSmallTree(src, { name: label, version: '1.0.0' });
    const tarFile = join(w.dir('art'), `${label}.tar`);
    x('tar', ['-cf', tarFile, '--format=posix', ...evil(src, target)], src);
    x('zstd', ['-q', '-f', '--rm', tarFile, '-o', `${tarFile}.zst`]);
    const sha = x('sha256sum', [`${tarFile}.zst`]).split(' ')[0]!;
    const honest = await buildArtifact(w.dir('art'), { name: label, version: '1.0.0' });
    const packed: Packed = { ...honest, sha256: sha, file: `${tarFile}.zst` };
    const r = await installOnce(w, a, packed, label);
    const failure = failureOf(r.result);
    expect(failure.code).toBe(InstallFailureCode.UnsafeEntry);
    expect(failure.message).toMatch(expectEntry);
    expect(r.status?.state).toBe('failed');
    expect(r.status?.error).toContain('unsafe archive member');
    expect(readdirSync(target)).toEqual([]);
    expect(r.nameDir).toEqual([]);
    // Nothing next to RUNTIMES_DIR either (the attack's `..` climbs from the staging dir).
    expect(readdirSync(join(a.config.runtimesDir, '..')).filter((n) => n.includes('evil'))).toEqual(
      [],
    );
  }

  it("a '../' member", async () => {
    await crafted(
      'dotdot',
      () => [
        '-P',
        '--transform=s,^isolated/data/marker$,../../evil-dotdot,',
        'runtime.yml',
        'isolated',
      ],
      /unsafe archive member '\.\.\/\.\.\/evil-dotdot'/,
    );
  });

  it('an absolute path', async () => {
    await crafted(
      'absolute',
      (_src, target) => [
        '-P',
        `--transform=s,^isolated/data/marker$,${target}/evil-abs,`,
        'runtime.yml',
        'isolated',
      ],
      /has an absolute path/,
    );
  });

  it('a symlink escaping the tree', async () => {
    await crafted(
      'escape',
      (src) => {
        symlinkSync('../../../../../../../etc', join(src, 'isolated/up'));
        return ['runtime.yml', 'isolated'];
      },
      /'isolated\/up'.*escapes the tree/,
    );
  });

  it('a symlink to a host directory, then a file written through it', async () => {
    await crafted(
      'through',
      (src, target) => {
        symlinkSync(target, join(src, 'isolated/lnk'));
        return [
          '--transform=s,^isolated/data/marker$,isolated/lnk/evil-through,',
          'runtime.yml',
          'isolated',
        ];
      },
      /unsafe archive member 'isolated\/lnk(\/evil-through)?'/,
    );
  });

  it.skipIf(!isRoot)('a device node [requires root for mknod]', async () => {
    await crafted(
      'device',
      (src) => {
        mkdirSync(join(src, 'isolated/dev'), { recursive: true });
        x('mknod', [join(src, 'isolated/dev/mem'), 'c', '1', '1']);
        return ['runtime.yml', 'isolated'];
      },
      /'isolated\/dev\/mem': is a character device/,
    );
  });
});
