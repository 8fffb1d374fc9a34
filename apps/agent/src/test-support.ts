// Fixtures for the agent's tests (not part of the app): real runtime trees, real tar.zst
// artifacts published to a real store (manifest signed with a test key, index entry,
// `runtime.published`), real Redis with a prefix per test, and agent configs pointing at temp
// dirs and trusting that key.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Keys, appendEvent, createRedis, type RedisClient } from '@joblet/queue';
import {
  generateSigningKeyPair,
  packTree,
  parseSigningKey,
  parseTrustedKey,
  walkTree,
  withManifestSignatures,
  type ArtifactManifest,
  type SigningKey,
  type TrustedKey,
} from '@joblet/artifact';
import {
  MOUNT_DIRS,
  serializeRuntimeYml,
  type Arch,
  type FarmEvent,
  type RuntimeIndexEntry,
  type RuntimeYml,
} from '@joblet/spec';
import {
  createArtifactStore,
  indexKey,
  runtimeArchiveKey,
  runtimeManifestKey,
  type ArtifactStore,
} from '@joblet/storage';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import type { AgentConfig } from './env.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';
/** The debootstrapped bookworm root the worker caches (127 MB): a real runtime tree. */
export const DEBIAN_ROOT = '/var/cache/joblet-farm/bases/bookworm-amd64/root';
export const isRoot = process.getuid?.() === 0;

/** A signing key pair for tests: the publisher's half and the agents' half. */
export interface TestKey {
  signing: SigningKey;
  trusted: TrustedKey;
  publicKeyPem: string;
}

export function makeTestKey(): TestKey {
  const g = generateSigningKeyPair();
  return {
    signing: parseSigningKey(g.privateKeyPem),
    trusted: parseTrustedKey(g.publicKeyPem),
    publicKeyPem: g.publicKeyPem,
  };
}

/** The key `publish` signs with unless told otherwise; every World's agents trust it. */
export const TEST_KEY: TestKey = makeTestKey();

/** Runs argv synchronously; returns stdout; throws on failure. */
export function x(cmd: string, args: readonly string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface TreeOptions {
  name: string;
  version: string;
  arch?: Arch;
  /** Extra bytes of random data (a different tree per call unless `seed` content repeats). */
  dataBytes?: number;
  /** Contents of `isolated/data/marker`, to make two trees of one version differ. */
  marker?: string;
}

/** runtime.yml for a tree whose `isolated/` has `present` (MOUNT_DIRS that exist). */
export function runtimeYmlFor(o: TreeOptions, present: string[]): RuntimeYml {
  const arch = o.arch ?? 'amd64';
  return {
    name: o.name,
    language: 'python',
    language_version: '3.11',
    version: o.version,
    description: 'agent test runtime',
    mounts: MOUNT_DIRS.filter((d) => present.includes(d)).map((d) => ({
      source: `isolated/${d}`,
      target: `/${d}`,
      readonly: true as const,
    })),
    environment: {
      LANG: 'C.UTF-8',
      PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      RUNTIME_MARK: `${o.name}@${o.version}`,
    },
    packages: [],
    system_packages: [],
    libraries: [],
    requirements: { architectures: [arch], gpu: false },
    build_info: {
      built_at: '2026-01-01T00:00:00Z',
      built_with: 'joblet-runtime-farm',
      builder_version: 'test',
      platform: `debian-${arch}`,
      arch,
      suite: 'bookworm',
    },
    original_yaml: `name: ${o.name}\nversion: ${o.version}\n`,
  };
}

function writeYml(dir: string, o: TreeOptions): RuntimeYml {
  const present = MOUNT_DIRS.filter((d) => existsSync(join(dir, 'isolated', d)));
  const yml = runtimeYmlFor(o, present);
  writeFileSync(join(dir, 'runtime.yml'), serializeRuntimeYml(yml));
  return yml;
}

/** A small runtime tree in `dir`: runtime.yml + isolated/{usr/bin/hello, bin → usr/bin, data}. */
export function makeSmallTree(dir: string, o: TreeOptions): RuntimeYml {
  mkdirSync(join(dir, 'isolated/usr/bin'), { recursive: true });
  mkdirSync(join(dir, 'isolated/data'), { recursive: true });
  writeFileSync(join(dir, 'isolated/usr/bin/hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  symlinkSync('usr/bin', join(dir, 'isolated/bin'));
  symlinkSync('/etc/alternatives/awk', join(dir, 'isolated/usr/bin/awk')); // absolute, as Debian has
  writeFileSync(join(dir, 'isolated/data/marker'), o.marker ?? `${o.name}@${o.version}`);
  writeFileSync(join(dir, 'isolated/data/blob'), randomBytes(o.dataBytes ?? 256 * 1024));
  return writeYml(dir, o);
}

/**
 * A real Debian runtime in `dir`: a copy of the cached bookworm root plus the host's python3.11
 * and libexpat, so `python3 --version` really runs in it. A copy, not hard links: linking the
 * same inodes from another test changes their ctime, and tar then fails packing with "file
 * changed as we read it".
 */
export function makeDebianTree(dir: string, o: TreeOptions): RuntimeYml {
  mkdirSync(dir, { recursive: true });
  x('cp', ['-a', DEBIAN_ROOT, join(dir, 'isolated')]);
  copyFileSync('/usr/bin/python3.11', join(dir, 'isolated/usr/bin/python3.11'));
  chmodSync(join(dir, 'isolated/usr/bin/python3.11'), 0o755);
  symlinkSync('python3.11', join(dir, 'isolated/usr/bin/python3'));
  copyFileSync(
    '/lib/x86_64-linux-gnu/libexpat.so.1',
    join(dir, 'isolated/usr/lib/x86_64-linux-gnu/libexpat.so.1'),
  );
  return writeYml(dir, o);
}

export interface Packed {
  /** The tree that was packed. */
  tree: string;
  runtimeYml: RuntimeYml;
  file: string;
  sha256: string;
  size: number;
  treeHash: string;
  treeBytes: number;
}

/** Packs a tree like the worker does. */
export async function pack(treeDir: string, file: string, runtimeYml: RuntimeYml): Promise<Packed> {
  const p = await packTree(treeDir, file);
  const walk = await walkTree(treeDir);
  const treeBytes = walk.entries.reduce((sum, e) => sum + e.size, 0);
  return {
    tree: treeDir,
    runtimeYml,
    file,
    sha256: p.sha256,
    size: p.bytes,
    treeHash: p.treeHash,
    treeBytes,
  };
}

export interface PublishOptions {
  name: string;
  version: string;
  arch?: Arch;
  /** Emit `runtime.published` (default true). */
  event?: boolean;
  /** Upload this file as the archive instead of `packed.file` (tampering, crafted archives). */
  archiveFile?: string;
  /** Keys that sign the manifest (default TEST_KEY; `[]` publishes it unsigned). */
  signWith?: readonly SigningKey[];
}

/** Uploads archive, manifest (last), index entry, then appends `runtime.published`. */
export async function publish(
  store: ArtifactStore,
  redis: RedisClient,
  keys: Keys,
  packed: Packed,
  o: PublishOptions,
): Promise<{ manifest: ArtifactManifest; entry: RuntimeIndexEntry }> {
  const arch = o.arch ?? 'amd64';
  const { name, version } = o;
  const archiveKey = runtimeArchiveKey(name, version, arch);
  const manifestKey = runtimeManifestKey(name, version, arch);
  await store.put(archiveKey, createReadStream(o.archiveFile ?? packed.file));
  const { runtimeYml } = packed;
  const unsigned: ArtifactManifest = {
    schema: 1,
    name,
    version,
    arch,
    buildKey: 'b'.repeat(64),
    builderVersion: 'test',
    sha256: packed.sha256,
    size: packed.size,
    treeHash: packed.treeHash,
    treeBytes: packed.treeBytes,
    builtAt: new Date().toISOString(),
    runtimeYml,
  };
  const signWith = o.signWith ?? [TEST_KEY.signing];
  const manifest = signWith.length > 0 ? withManifestSignatures(unsigned, signWith) : unsigned;
  await store.putJson(manifestKey, manifest);
  const entry: RuntimeIndexEntry = {
    schema: 1,
    name,
    version,
    language: 'python',
    languageVersion: '3.11',
    publishedAt: new Date().toISOString(),
    buildId: uniqueName('build'),
    arches: {
      [arch]: {
        arch,
        archiveKey,
        manifestKey,
        sha256: packed.sha256,
        size: packed.size,
        treeHash: packed.treeHash,
        treeBytes: packed.treeBytes,
        buildKey: 'b'.repeat(64),
        runtimeYml,
      },
    },
  };
  await store.putJson(indexKey(name, version), entry);
  if (o.event ?? true) {
    const event: FarmEvent = { type: 'runtime.published', name, version, arches: [arch] };
    await appendEvent(redis, keys.farmEvents, event);
  }
  return { manifest, entry };
}

/** Builds a tree with `make` in `workDir` and packs it next to it. */
export async function buildArtifact(
  workDir: string,
  o: TreeOptions,
  make: (dir: string, o: TreeOptions) => RuntimeYml = makeSmallTree,
): Promise<Packed> {
  const id = `${o.name}-${o.version}-${randomBytes(3).toString('hex')}`;
  const tree = join(workDir, id);
  const yml = make(tree, o);
  return pack(tree, join(workDir, `${id}.tar.zst`), yml);
}

/** Removes a runtime from the index and announces it, as the API does. */
export async function unpublish(
  store: ArtifactStore,
  redis: RedisClient,
  keys: Keys,
  name: string,
  version: string,
): Promise<void> {
  await store.delete(indexKey(name, version));
  await appendEvent(redis, keys.farmEvents, { type: 'runtime.removed', name, version });
}

/** One test's world: a Redis prefix, a directory store, temp dirs; `cleanup()` removes it all. */
export interface World {
  prefix: string;
  keys: Keys;
  redis: Redis;
  /** The Redis of this world (REDIS_URL unless the test brought its own). */
  redisUrl: string;
  tmp: TempDir;
  storeUrl: string;
  store: ArtifactStore;
  /** A fresh 0755 directory under the world's temp dir. */
  dir(name: string): string;
  /** TEST_KEY's public key as a PEM file: AGENT_TRUSTED_KEYS for agent processes. */
  trustedKeyFile: string;
  config(node: string, over?: Partial<AgentConfig>): AgentConfig;
  cleanup(): Promise<void>;
}

export async function makeWorld(
  opts: { storeUrl?: string; redisUrl?: string } = {},
): Promise<World> {
  const prefix = uniqueName('agent');
  const keys = new Keys(prefix);
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const redis = createRedis({ url: redisUrl });
  const tmp = await makeTempDir('agent-test');
  // Jobs run as uid 65534 and must traverse to their runtime and work dirs.
  chmodSync(tmp.path, 0o755);
  const storeUrl = opts.storeUrl ?? `file://${join(tmp.path, 'store')}`;
  const store = createArtifactStore(storeUrl);
  await store.ensureReady();
  const dir = (name: string): string => {
    const d = join(tmp.path, name);
    mkdirSync(d, { recursive: true, mode: 0o755 });
    chmodSync(d, 0o755);
    return d;
  };
  const trustedKeyFile = join(tmp.path, 'trusted.pub.pem');
  writeFileSync(trustedKeyFile, TEST_KEY.publicKeyPem);
  return {
    prefix,
    keys,
    redis,
    redisUrl,
    tmp,
    storeUrl,
    store,
    dir,
    trustedKeyFile,
    config: (node, over = {}) => ({
      name: node,
      arch: 'amd64',
      labels: { test: 'yes' },
      capacity: 2,
      redisUrl,
      queuePrefix: prefix,
      storageUrl: storeUrl,
      runtimesDir: join(tmp.path, `${node}-runtimes`),
      workDir: join(tmp.path, `${node}-work`),
      heartbeatIntervalMs: 200,
      reconcileIntervalMs: 60_000,
      minFreeBytes: 0,
      maxArtifactBytes: 4 * 1024 ** 3,
      installConcurrency: 2,
      shutdownTimeoutMs: 10_000,
      logLevel: 'silent',
      trustedKeys: [TEST_KEY.trusted],
      ...over,
    }),
    async cleanup() {
      const found = await redis.keys(`${prefix}:*`);
      if (found.length > 0) await redis.del(...found);
      await redis.quit();
      await store.close();
      await tmp.cleanup();
    },
  };
}

/** Polls `check` every 20 ms until it returns a value other than undefined/false. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
