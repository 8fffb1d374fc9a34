/**
 * The publish job against real Redis and a directory store, with a staged artifact made by hand:
 * it promotes staging to runtimes/ (manifest last, signed with the worker's key), writes the
 * index and pointer, announces
 * `runtime.published` once, and a re-run (after a crash) ends in the same state.
 */
import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@joblet/logging';
import {
  BUILDER_VERSION,
  BuildStore,
  Keys,
  childJobId,
  createRedis,
  readAfter,
  type PublishJobData,
} from '@joblet/queue';
import {
  ArtifactManifest as ManifestSchema,
  generateSigningKeyPair,
  parseSigningKey,
  parseTrustedKey,
  verifyManifestSignatures,
  type ArtifactManifest,
} from '@joblet/artifact';
import { hasCommand } from '@joblet/sandbox';
import {
  FarmEvent,
  RuntimeIndexEntry,
  buildRuntimeYml,
  builtinCatalog,
  findCatalogEntry,
  validateRuntimeSpec,
  type ArtifactInfo,
} from '@joblet/spec';
import {
  createArtifactStore,
  indexKey,
  runtimeArchiveKey,
  runtimeManifestKey,
  stagingArchiveKey,
  stagingManifestKey,
  stagingPrefix,
  type ArtifactStore,
} from '@joblet/storage';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { deleteKeys, buildEvents } from '../test-support/flow.js';
import type { WorkerDeps } from './worker-deps.js';
import { publishRuntimeJob } from './publish-runtime.job.js';

const hasRedis = hasCommand('redis-cli', ['ping']);

describe.skipIf(!hasRedis)('publish-runtime job', () => {
  let tmp: TempDir;
  let redis: Redis;
  let store: ArtifactStore;
  const prefix = uniqueName('wpub');
  const keys = new Keys(prefix);

  beforeAll(async () => {
    tmp = await makeTempDir('worker-publish');
    redis = createRedis({ url: 'redis://127.0.0.1:6379' });
    store = createArtifactStore(`file://${tmp.path}/store`);
    await store.ensureReady();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
    await store.close();
    await tmp.cleanup();
  });

  it('publishes once, and a re-run ends in the same state', async () => {
    const specText =
      'schema_version: "1.0"\nname: pub-test\nversion: 2.0.0\nbase: {language: python, version: "3.11"}\n';
    const spec = validateRuntimeSpec(specText).spec!;
    const entry = findCatalogEntry(builtinCatalog, 'python', '3.11')!;
    const buildId = uniqueName('build');
    const buildKey = 'b'.repeat(64);
    const archive = Buffer.from('not really zstd, but bytes with a checksum');
    const sha256 = createHash('sha256').update(archive).digest('hex');
    const runtimeYml = buildRuntimeYml({
      spec,
      originalYaml: specText,
      arch: 'amd64',
      catalogEntry: entry,
      resolved: { pip: [], npm: [], system: ['python3=3.11.2-1+b1'] },
      presentDirs: ['usr/bin'],
      builtAt: new Date(),
      builderVersion: BUILDER_VERSION,
      buildKey,
    });
    const manifest: ArtifactManifest = {
      schema: 1,
      name: 'pub-test',
      version: '2.0.0',
      arch: 'amd64',
      buildKey,
      builderVersion: BUILDER_VERSION,
      sha256,
      size: archive.length,
      treeHash: 't'.repeat(64),
      treeBytes: 1000,
      builtAt: new Date().toISOString(),
      runtimeYml,
    };
    await store.put(stagingArchiveKey(buildId, 'amd64'), archive);
    await store.putJson(stagingManifestKey(buildId, 'amd64'), manifest);
    const artifact: ArtifactInfo = {
      arch: 'amd64',
      archiveKey: runtimeArchiveKey('pub-test', '2.0.0', 'amd64'),
      manifestKey: runtimeManifestKey('pub-test', '2.0.0', 'amd64'),
      sha256,
      size: archive.length,
      treeHash: manifest.treeHash,
      treeBytes: manifest.treeBytes,
      buildKey,
    };
    const buildStore = new BuildStore(redis, keys);
    await buildStore.create(
      {
        id: buildId,
        name: 'pub-test',
        version: '2.0.0',
        submissionKey: 's'.repeat(64),
        arches: ['amd64'],
        force: false,
        allowPartial: false,
        createdAt: new Date().toISOString(),
      },
      { amd64: { state: 'succeeded', artifact } },
    );
    const pair = generateSigningKeyPair();
    const signingKey = parseSigningKey(pair.privateKeyPem);
    const logLines: string[] = [];
    const deps = {
      config: { name: 'publish-test', signingKeys: [signingKey] },
      log: createLogger({ name: 'w', destination: { write: (l: string) => logLines.push(l) } }),
      redis,
      keys,
      buildStore,
      store,
    } as unknown as WorkerDeps;
    const data: PublishJobData = {
      buildId,
      name: 'pub-test',
      version: '2.0.0',
      submissionKey: 's'.repeat(64),
      arches: ['amd64'],
      allowPartial: false,
    };
    const job = {
      id: buildId,
      getChildrenValues: () =>
        Promise.resolve({ [`${prefix}:build-amd64:${childJobId(buildId, 'amd64')}`]: artifact }),
    } as unknown as Job;
    const handler = publishRuntimeJob(deps);

    expect(await handler.handle(job, data, undefined)).toEqual({
      state: 'succeeded',
      arches: ['amd64'],
    });
    const first = RuntimeIndexEntry.parse(await store.getJson(indexKey('pub-test', '2.0.0')));
    expect(first.arches.amd64?.sha256).toBe(sha256);
    expect((await store.getBuffer(artifact.archiveKey)).equals(archive)).toBe(true);
    // The staged manifest as it was, plus the publisher's signature, valid for its public key.
    const published = ManifestSchema.parse(await store.getJson(artifact.manifestKey));
    expect(published).toEqual({ ...manifest, signatures: [expect.any(Object)] });
    expect(published.signatures![0]!.keyId).toBe(pair.keyId);
    expect(verifyManifestSignatures(published, [parseTrustedKey(pair.publicKeyPem)])).toEqual({
      ok: true,
      keyId: pair.keyId,
    });
    // The worker's log names the key it signed with (its full id), as agents' refusals do.
    const signedLine = logLines
      .map((l) => JSON.parse(l) as { msg: string; keyIds?: string[] })
      .find((l) => l.msg === 'manifest signed');
    expect(signedLine?.keyIds).toEqual([pair.keyId]);
    const staged: string[] = [];
    for await (const o of store.list(stagingPrefix(buildId))) staged.push(o.key);
    expect(staged).toEqual([]);

    // A re-run (the worker died after publishing): same end state, nothing announced twice.
    expect(await handler.handle(job, data, undefined)).toEqual({
      state: 'succeeded',
      arches: ['amd64'],
    });
    const farm = await readAfter(redis, keys.farmEvents, FarmEvent);
    expect(farm.map((f) => f.event)).toEqual([
      { type: 'runtime.published', name: 'pub-test', version: '2.0.0', arches: ['amd64'] },
    ]);
    const events = await buildEvents(redis, prefix, buildId);
    expect(events.filter((e) => e.type === 'done')).toEqual([{ type: 'done', state: 'succeeded' }]);
    expect((await buildStore.get(buildId))?.state).toBe('succeeded');
  });
});
