// The tree rules of an installed runtime, end to end: a hand-made archive (real GNU tar) whose
// manifest is properly signed and whose checksums match is still refused when one member is
// writable by others, setuid/setgid or not owned by root — the node reports UNSAFE_ENTRY naming
// the first such member, and nothing is left behind (no staging dir, no half tree, no record).
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { treeHash } from '@joblet/artifact';
import { NodeRuntimeStatus } from '@joblet/spec';
import { createAgent } from '../agent.js';
import { InstallFailureCode } from '../errors.js';
import type { ConvergeResult } from './runtime-sync.service.js';
import {
  buildArtifact,
  isRoot,
  makeSmallTree,
  makeWorld,
  publish,
  x,
  type Packed,
} from '../test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Builds a small runtime, lets `evil` spoil its tree, archives it with plain GNU tar (no
 * normalisation) and publishes it signed with the test key; converges once and observes.
 */
async function hostile(label: string, evil: (isolated: string) => void) {
  const w = await makeWorld();
  cleanups.push(() => w.cleanup());
  const a = createAgent(w.config('rules'), { nodeQueue: false, jobs: false });
  cleanups.push(() => a.stop(5_000));
  await a.start();

  const src = w.dir(`src-${label}`);
  makeSmallTree(src, { name: label, version: '1.0.0' });
  evil(join(src, 'isolated'));
  const tarFile = join(w.dir('art'), `${label}.tar`);
  x('tar', ['-cf', tarFile, '--format=posix', '--numeric-owner', 'runtime.yml', 'isolated'], src);
  x('zstd', ['-q', '-f', '--rm', tarFile, '-o', `${tarFile}.zst`]);
  const sha = x('sha256sum', [`${tarFile}.zst`]).split(' ')[0]!;
  const honest = await buildArtifact(w.dir('art'), { name: label, version: '1.0.0' });
  // Its own sha256 and tree hash: without the tree rules it would install.
  const packed: Packed = {
    ...honest,
    sha256: sha,
    treeHash: await treeHash(src),
    file: `${tarFile}.zst`,
  };
  const { manifest } = await publish(w.store, w.redis, w.keys, packed, {
    name: label,
    version: '1.0.0',
    event: false,
  });
  expect(manifest.signatures).toHaveLength(1); // signed: only the tree rules can stop it

  await a.sync.converge(label, '1.0.0');
  const raw = await w.redis.hget(w.keys.nodeRuntimes('rules'), `${label}@1.0.0`);
  const nameDir = join(a.config.runtimesDir, label);
  const result = a.sync.lastResult(label, '1.0.0') as ConvergeResult;
  expect(result.kind).toBe('failed');
  return {
    failure: (result as Extract<ConvergeResult, { kind: 'failed' }>).failure,
    status: raw === null ? undefined : NodeRuntimeStatus.parse(JSON.parse(raw)),
    // Hidden entries too: an `.1.0.0.incoming-…` or `…staging-…` dir left behind shows here.
    left: existsSync(nameDir) ? readdirSync(nameDir) : [],
    record: existsSync(join(a.config.runtimesDir, '.state', `${label}@1.0.0.json`)),
  };
}

async function refusedFor(label: string, evil: (iso: string) => void, entry: string, why: RegExp) {
  const r = await hostile(label, evil);
  expect(r.failure.code).toBe(InstallFailureCode.UnsafeEntry);
  expect(r.failure.message).toMatch(new RegExp(`^unsafe archive member '${entry}': `));
  expect(r.failure.message).toMatch(why);
  expect(r.status?.state).toBe('failed');
  expect(r.status?.failure).toEqual({
    code: 'UNSAFE_ENTRY',
    message: r.failure.message,
    details: { entry },
  });
  expect(r.status?.error).toBe(r.failure.message);
  expect(r.left).toEqual([]);
  expect(r.record).toBe(false);
}

describe('Installer refuses a signed archive that breaks the tree rules', () => {
  it('a library writable by others (0666)', async () => {
    await refusedFor(
      'ww-file',
      (iso) => {
        mkdirSync(join(iso, 'usr/lib'), { recursive: true });
        writeFileSync(join(iso, 'usr/lib/libevil.so'), 'ELF');
        chmodSync(join(iso, 'usr/lib/libevil.so'), 0o666);
      },
      'isolated/usr/lib/libevil.so',
      /is writable by others \(-rw-rw-rw-\)$/,
    );
  });

  it('a directory writable by others (0777)', async () => {
    await refusedFor(
      'ww-dir',
      (iso) => chmodSync(join(iso, 'data'), 0o777),
      'isolated/data/',
      /is writable by others \(drwxrwxrwx\)$/,
    );
  });

  it('a sticky world-writable tmp dir with contents (1777)', async () => {
    await refusedFor(
      'ww-tmp',
      (iso) => {
        mkdirSync(join(iso, 'tmp'));
        writeFileSync(join(iso, 'tmp/planted'), 'x');
        chmodSync(join(iso, 'tmp'), 0o1777);
      },
      'isolated/tmp/',
      /is writable by others \(drwxrwxrwt\)$/,
    );
  });

  it('a setuid binary', async () => {
    await refusedFor(
      'setuid',
      (iso) => chmodSync(join(iso, 'usr/bin/hello'), 0o4755),
      'isolated/usr/bin/hello',
      /has the setuid bit$/,
    );
  });

  it.skipIf(!isRoot)('a file owned by another user [requires root to chown]', async () => {
    await refusedFor(
      'owner',
      (iso) => chownSync(join(iso, 'data/marker'), 1000, 1000),
      'isolated/data/marker',
      /is owned by 1000:1000, not root \(0:0\)$/,
    );
  });
});
