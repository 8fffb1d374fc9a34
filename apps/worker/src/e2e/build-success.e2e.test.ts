/**
 * Successful builds end to end, in-process: real Redis, a directory store, debootstrap roots
 * cached in /var/cache/joblet-farm, bubblewrap, overlayfs, cgroups and a local pip index. One
 * python build is shared by the success assertions.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BuildStore, Keys, readAfter } from '@joblet/queue';
import {
  ArtifactManifest,
  readTrustedKeyFile,
  safeExtract,
  verifyManifestSignatures,
} from '@joblet/artifact';
import { runInSandbox } from '@joblet/sandbox';
import {
  BuildPointer,
  FarmEvent,
  RuntimeIndexEntry,
  parseRuntimeYml,
  type BuildEvent,
} from '@joblet/spec';
import { buildPointerKey, indexKey } from '@joblet/storage';
import {
  BUILD_WAIT_MS,
  enqueueBuild,
  logLines,
  waitForEvent,
  type Enqueued,
} from '../test-support/flow.js';
import {
  E2E_MISSING,
  doneEvent,
  pySpec,
  useWorkerFixture,
} from '../test-support/worker-fixture.js';

describe.skipIf(E2E_MISSING.length > 0)('successful builds', () => {
  const fx = useWorkerFixture('wks');

  describe('a python 3.11 runtime with apt, pip, environment and both hooks', () => {
    let b: Enqueued;
    let events: BuildEvent[];
    let dest: string;

    beforeAll(async () => {
      ({ b, events } = await fx.run(
        pySpec(`apt: [libyaml-0-2]
pip: [joblet-hello]
environment:
  GREETING_STYLE: loud
hooks:
  pre_install: |
    echo "pre $RUNTIME_NAME $RUNTIME_VERSION $ARCHITECTURE" > /etc/joblet-pre-hook
  post_install: |
    python3 -c 'import joblet_hello; print(joblet_hello.GREETING)' > /etc/joblet-post-hook
    chmod 0666 /usr/lib/x86_64-linux-gnu/libyaml-0.so.2.*
    mkdir -p /opt/shared && chmod 0777 /opt/shared
`),
        { attempts: 1 },
      ));
      dest = join(fx.tmp.path, 'extracted');
    }, BUILD_WAIT_MS + 60_000);

    it('succeeds with every phase reported in order', async () => {
      expect(doneEvent(events)).toEqual({ type: 'done', state: 'succeeded' });
      const phases = events.flatMap((e) =>
        e.type === 'phase' ? [`${e.n}/${e.total} ${e.name}`] : [],
      );
      expect(phases).toEqual([
        '1/12 Preparing base root',
        '2/12 Preparing sandbox',
        '3/12 Updating package lists',
        '4/12 Installing language packages',
        '5/12 Running pre_install hook',
        '6/12 Installing system packages',
        '7/12 Installing pip packages',
        '8/12 Installing npm packages',
        '9/12 Running post_install hook',
        '10/12 Assembling runtime',
        '11/12 Packing archive',
        '12/12 Uploading artifact',
      ]);
      expect(events.filter((e) => e.type === 'arch-succeeded')).toHaveLength(1);
      const record = await new BuildStore(fx.redis, new Keys(fx.prefix)).get(b.buildId);
      expect(record?.state).toBe('succeeded');
      expect(record?.archStatus.amd64?.state).toBe('succeeded');
      expect(record?.archStatus.amd64?.artifact?.archiveKey).toBe(
        'runtimes/py-test/1.0.0/amd64/runtime.tar.zst',
      );
      // Every phase's duration reached the farm's metrics (one observation each).
      const hist = await fx.redis.hgetall(
        new Keys(fx.prefix).metricHistogram('joblet_build_phase_duration_seconds'),
      );
      const counted = Object.entries(hist).filter(([k]) => k.endsWith('|count'));
      expect(counted.map(([k]) => k)).toEqual(
        expect.arrayContaining([expect.stringContaining('amd64'), expect.stringContaining('pack')]),
      );
      expect(counted.length).toBe(12);
    });

    it('stores archive and manifest whose checksum matches the bytes, signed by the publisher', async () => {
      const manifest = ArtifactManifest.parse(
        await fx.store.getJson('runtimes/py-test/1.0.0/amd64/manifest.json'),
      );
      const bytes = await fx.store.getBuffer('runtimes/py-test/1.0.0/amd64/runtime.tar.zst');
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
      expect(manifest.size).toBe(bytes.length);
      expect(manifest.buildKey).toBe(b.buildKeys.amd64);
      expect(manifest.treeBytes).toBeGreaterThan(manifest.size);
      const trusted = readTrustedKeyFile(fx.signing.publicKeyFile);
      expect(verifyManifestSignatures(manifest, [trusted])).toEqual({
        ok: true,
        keyId: trusted.keyId,
      });
    });

    it('extracts to a runtime whose python3 runs under bwrap and imports the pip package', async () => {
      const archive = await fx.store.get('runtimes/py-test/1.0.0/amd64/runtime.tar.zst');
      await safeExtract(archive, dest, { symlinks: 'rooted' });
      const yml = parseRuntimeYml(await readFile(join(dest, 'runtime.yml'), 'utf8'));
      expect(yml.errors).toEqual([]);
      const rt = yml.value!;
      expect(rt.packages).toContain('joblet-hello==1.0');
      expect(rt.system_packages.some((p) => /^python3=3\.11/.test(p))).toBe(true);
      expect(rt.system_packages.some((p) => p.startsWith('libyaml-0-2'))).toBe(true);
      expect(rt.environment.GREETING_STYLE).toBe('loud');
      expect(rt.environment.LD_LIBRARY_PATH).toContain('/usr/lib/x86_64-linux-gnu');
      expect(rt.mounts.map((m) => m.target)).toEqual(expect.arrayContaining(['/usr/bin', '/lib']));

      const r = await runInSandbox(
        {
          binds: rt.mounts.map((m) => ({ source: join(dest, m.source), target: m.target })),
          tmpfs: ['/tmp'],
          env: rt.environment,
        },
        '/usr/bin/python3',
        [
          '-c',
          'import joblet_hello, os; print(joblet_hello.GREETING, os.environ["GREETING_STYLE"])',
        ],
        { timeoutMs: 30_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('hello from joblet-hello 1.0 loud');
    });

    it('packed the tree normalised, and said so in the build log', async () => {
      // The post_install hook made a library 0666 and a dir 0777; the base root has 1777 tmps.
      const mode = async (p: string) => (await stat(join(dest, 'isolated', p))).mode & 0o7777;
      const [lib] = (await readdir(join(dest, 'isolated/usr/lib/x86_64-linux-gnu'))).filter((f) =>
        f.startsWith('libyaml-0.so.2.'),
      );
      expect(await mode(`usr/lib/x86_64-linux-gnu/${lib}`)).toBe(0o664);
      expect(await mode('opt/shared')).toBe(0o775);
      expect(await mode('tmp')).toBe(0o755);
      expect(await mode('var/tmp')).toBe(0o755);
      const line = logLines(events).find((l) => l.startsWith('normalised the runtime tree: '));
      expect(line).toMatch(
        /\d+ scratch dirs emptied \(\d+ entries\) as 0755 mount points \([^)]*isolated\/tmp/,
      );
      expect(line).toMatch(
        /world-writable entries packed without o\+w \([^)]*isolated\/opt\/shared/,
      );
    });

    it('ran both hooks inside the sandbox with the runtime variables', async () => {
      expect(await readFile(join(dest, 'isolated/etc/joblet-pre-hook'), 'utf8')).toBe(
        'pre py-test 1.0.0 amd64\n',
      );
      expect(await readFile(join(dest, 'isolated/etc/joblet-post-hook'), 'utf8')).toBe(
        'hello from joblet-hello 1.0\n',
      );
      // Pruned: docs (but copyright files), apt lists, caches; caches never enter the runtime.
      expect(existsSync(join(dest, 'isolated/usr/share/man/man1'))).toBe(false);
      expect(existsSync(join(dest, 'isolated/usr/share/doc/python3/copyright'))).toBe(true);
      expect(existsSync(join(dest, 'isolated/root/.cache'))).toBe(false);
      const debs = (await readdir(join(dest, 'isolated/var/cache/apt/archives'))).filter((f) =>
        f.endsWith('.deb'),
      );
      expect(debs).toEqual([]);
    });

    it('publishes the index entry, build pointer and runtime.published; leaves nothing behind', async () => {
      const entry = RuntimeIndexEntry.parse(await fx.store.getJson(indexKey('py-test', '1.0.0')));
      expect(entry.buildId).toBe(b.buildId);
      expect(entry.arches.amd64?.runtimeYml.packages).toContain('joblet-hello==1.0');
      const pointer = BuildPointer.parse(
        await fx.store.getJson(buildPointerKey(b.buildKeys.amd64!)),
      );
      expect(pointer.manifestKey).toBe('runtimes/py-test/1.0.0/amd64/manifest.json');
      const farm = await readAfter(fx.redis, new Keys(fx.prefix).farmEvents, FarmEvent);
      expect(farm.map((f) => f.event)).toEqual([
        { type: 'runtime.published', name: 'py-test', version: '1.0.0', arches: ['amd64'] },
      ]);
      await fx.expectNothingLeft(b.buildId);
    });
  });

  it(
    'builds a node runtime with npm packages from the registry',
    async () => {
      const { b, events } = await fx.run(
        `schema_version: "1.0"
name: node-test
version: 1.0.0
base:
  language: node
  version: "18"
npm: [left-pad@1.3.0]
`,
        { attempts: 2 },
      );
      expect(doneEvent(events)).toEqual({ type: 'done', state: 'succeeded' });
      const entry = RuntimeIndexEntry.parse(await fx.store.getJson(indexKey(b.name, b.version)));
      const rt = entry.arches.amd64!.runtimeYml;
      expect(rt.packages).toEqual(['left-pad@1.3.0']);
      expect(rt.system_packages.some((p) => p.startsWith('nodejs='))).toBe(true);
      expect(rt.environment.NODE_PATH).toContain('/usr/local/lib/node_modules');
      await fx.expectNothingLeft(b.buildId);
    },
    BUILD_WAIT_MS + 60_000,
  );

  it('retries a transient failure (package index down) with backoff, then succeeds', async () => {
    fx.index.failing = true;
    const b = await enqueueBuild(
      fx.redis,
      fx.prefix,
      pySpec('pip: [joblet-hello]\npip_options: ["--retries=0"]\n', '1.0.6'),
      { attempts: 3, backoffMs: 500 },
    );
    try {
      await waitForEvent(fx.redis, fx.prefix, b.buildId, (e) => e.type === 'arch-retry');
    } finally {
      fx.index.failing = false;
    }
    const events = await waitForEvent(fx.redis, fx.prefix, b.buildId);
    expect(doneEvent(events)).toEqual({ type: 'done', state: 'succeeded' });
    const retries = events.filter((e) => e.type === 'arch-retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({
      attempt: 1,
      error: {
        code: 'PACKAGE_INSTALL_FAILED',
        message: expect.stringMatching(/unavailable \(HTTP 503\)/),
      },
    });
    expect(logLines(events).filter((l) => l.startsWith('attempt '))).toEqual([
      'attempt 1/3 on worker e2e-worker',
      'attempt 2/3 on worker e2e-worker',
    ]);
    await fx.expectNothingLeft(b.buildId);
  });
});
