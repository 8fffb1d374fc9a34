/**
 * The farm end to end, through the real `rnx` binary: API, Redis, a worker, the local agent and
 * an S3 server over HTTP. One runtime is built once and reused by every test here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuntimeYml, RuntimeIndexEntry } from '@joblet/spec';
import { ArtifactManifest, safeExtract, treeHash } from '@joblet/artifact';
import {
  createArtifactStore,
  indexKey,
  runtimeArchiveKey,
  runtimeManifestKey,
  type ArtifactStore,
} from '@joblet/storage';
import { runInSandbox } from '@joblet/sandbox';
import { makeTempDir } from '@joblet/testkit';
import { startFarm, type Farm } from './farm-fixture.js';

const NAME = 'e2e-python';
const SPEC = `schema_version: "1.0"
name: ${NAME}
version: 1.0.0
description: end-to-end test runtime
base:
  language: python
  version: "3.11"
apt:
  - python3-six
pip:
  - joblet-hello
npm:
  - left-pad@1.3.0
environment:
  E2E_MARKER: "from-the-spec"
hooks:
  pre_install: |
    echo "pre $RUNTIME_NAME" > /opt/pre-hook
  post_install: |
    echo "post $RUNTIME_NAME $RUNTIME_VERSION $ARCHITECTURE" > /opt/post-hook
  timeout: 2m
`;

let farm: Farm;
let store: ArtifactStore;
let specFile: string;
let firstBuild: { code: number; stdout: string; stderr: string };

/**
 * A real build (debootstrap root, apt, pip, npm, hooks, packing, upload) plus its deployment
 * takes minutes on a loaded 2-core machine: tests that wait for one get the room a build takes.
 */
const BUILD_WAIT_MS = 900_000;

/** Waits until no build of `name` is queued, running or publishing, so a test starts from rest. */
async function buildsSettled(name: string): Promise<void> {
  const active = new Set(['queued', 'running', 'publishing']);
  const deadline = Date.now() + BUILD_WAIT_MS;
  for (;;) {
    const list = await farm.rnx(['build', 'list', '--json']);
    const builds = JSON.parse(list.stdout || '[]') as { name: string; state: string }[];
    if (!builds.some((b) => b.name === name && active.has(b.state))) return;
    if (Date.now() > deadline) throw new Error(`builds of ${name} still active: ${list.stdout}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

beforeAll(async () => {
  farm = await startFarm();
  store = createArtifactStore(farm.s3.url(farm.bucket));
  specFile = join(farm.tmp.path, 'runtime.yaml');
  await import('node:fs/promises').then((fs) => fs.writeFile(specFile, SPEC));
  firstBuild = await farm.rnx(['runtime', 'build', '-v', '--wait-deploy', specFile], {
    timeoutMs: BUILD_WAIT_MS,
  });
}, BUILD_WAIT_MS + 60_000);

afterAll(async () => {
  await store?.close();
  await farm?.down();
}, 180_000);

describe('rnx runtime build (issue 3)', () => {
  it('builds, publishes and reports every phase and a summary, exit 0', () => {
    expect(firstBuild.stderr).toBe('');
    expect(firstBuild.code).toBe(0);
    expect(firstBuild.stdout).toMatch(/\[amd64\] \[\d+\/\d+\] /);
    expect(firstBuild.stdout).toContain('[amd64] | '); // -v log lines
    expect(firstBuild.stdout).toContain(`✓ ${NAME} 1.0.0 published`);
    expect(firstBuild.stdout).toMatch(/amd64 +built +[\d.]+ MB +[0-9a-f]{64}/);
  });

  it('stores the artifact and its manifest last, with a checksum that matches', async () => {
    const manifest = ArtifactManifest.parse(
      await store.getJson(runtimeManifestKey(NAME, '1.0.0', 'amd64')),
    );
    const archive = await store.getBuffer(runtimeArchiveKey(NAME, '1.0.0', 'amd64'));
    expect(createHash('sha256').update(archive).digest('hex')).toBe(manifest.sha256);
    expect(manifest.size).toBe(archive.length);
    const index = RuntimeIndexEntry.parse(await store.getJson(indexKey(NAME, '1.0.0')));
    expect(index.arches.amd64?.sha256).toBe(manifest.sha256);
  });

  it('produces a self-contained runtime: python imports the pip package under bwrap; hooks ran inside', async () => {
    const out = await makeTempDir('e2e-extract-');
    await chmod(out.path, 0o755); // the sandbox runs as nobody
    try {
      const manifest = ArtifactManifest.parse(
        await store.getJson(runtimeManifestKey(NAME, '1.0.0', 'amd64')),
      );
      const dest = join(out.path, 'rt');
      await safeExtract(await store.get(runtimeArchiveKey(NAME, '1.0.0', 'amd64')), dest, {
        expectedSha256: manifest.sha256,
        symlinks: 'rooted',
      });
      const iso = join(dest, 'isolated');
      expect(existsSync(join(iso, 'usr/bin/python3'))).toBe(true);
      const r = await runInSandbox(
        {
          rootfs: iso,
          binds: [],
          tmpfs: ['/tmp'],
          proc: true,
          dev: true,
          network: 'none',
          env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        },
        '/usr/bin/python3',
        ['-c', 'import joblet_hello, six; print(joblet_hello.GREETING, six.__name__)'],
        { timeoutMs: 30_000 },
      );
      expect(r.stdout.trim(), r.stderr).toBe('hello from joblet-hello 0.1.0 six');
      expect(readFileSync(join(iso, 'opt/pre-hook'), 'utf8')).toBe(`pre ${NAME}\n`);
      expect(readFileSync(join(iso, 'opt/post-hook'), 'utf8')).toBe(`post ${NAME} 1.0.0 amd64\n`);
      expect(existsSync(join(iso, 'usr/local/lib/node_modules/left-pad/package.json'))).toBe(true);

      const yml = parseRuntimeYml(await readFile(join(dest, 'runtime.yml'), 'utf8'));
      expect(yml.errors).toEqual([]);
      expect(yml.value?.packages).toEqual(
        expect.arrayContaining(['joblet-hello==0.1.0', 'left-pad@1.3.0']),
      );
      expect(yml.value?.system_packages?.some((p) => p.startsWith('python3-six='))).toBe(true);
      expect(yml.value?.environment.E2E_MARKER).toBe('from-the-spec');
      expect(yml.value?.requirements.architectures).toEqual(['amd64']);
      expect(yml.value?.original_yaml).toBe(SPEC);
      expect(await treeHash(dest)).toBe(manifest.treeHash);
    } finally {
      await out.cleanup();
    }
  });

  it(
    'answers a resubmission as cached without building; --force rebuilds',
    async () => {
      const cached = await farm.rnx(['runtime', 'build', specFile]);
      expect(cached.code).toBe(0);
      expect(cached.stdout).toContain(`✓ ${NAME} 1.0.0 is cached`);
      const list = await farm.rnx(['build', 'list', '--json']);
      const builds = JSON.parse(list.stdout) as { name: string }[];
      expect(builds.filter((b) => b.name === NAME)).toHaveLength(1);

      const before = ArtifactManifest.parse(
        await store.getJson(runtimeManifestKey(NAME, '1.0.0', 'amd64')),
      );
      const forced = await farm.rnx(['runtime', 'build', '--force', '--wait-deploy', specFile], {
        timeoutMs: BUILD_WAIT_MS,
      });
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toContain(`✓ ${NAME} 1.0.0 published`);
      const after = ArtifactManifest.parse(
        await store.getJson(runtimeManifestKey(NAME, '1.0.0', 'amd64')),
      );
      expect(after.builtAt).not.toBe(before.builtAt);
      const again = JSON.parse((await farm.rnx(['build', 'list', '--json'])).stdout) as {
        name: string;
      }[];
      expect(again.filter((b) => b.name === NAME)).toHaveLength(2);
    },
    BUILD_WAIT_MS + 60_000,
  );
});

describe('deployment to the node (issue 4)', () => {
  it('installs the runtime under <runtimes>/<name>/<version>/{runtime.yml,isolated/} with the manifest tree hash', async () => {
    expect(firstBuild.stdout).toMatch(/deployed to 1\/1 nodes/);
    const dir = join(farm.runtimesDir, NAME, '1.0.0');
    expect((await readdir(dir)).sort()).toEqual(['isolated', 'runtime.yml']);
    const manifest = ArtifactManifest.parse(
      await store.getJson(runtimeManifestKey(NAME, '1.0.0', 'amd64')),
    );
    expect(await treeHash(dir)).toBe(manifest.treeHash);
  });

  it('lists, describes and tests the runtime from the farm', async () => {
    const list = await farm.rnx(['runtime', 'list']);
    // Joblet's columns (RUNTIME VERSION TYPE SIZE DESCRIPTION); piped, so no total line.
    expect(list.stdout).toMatch(
      new RegExp(`${NAME} +1\\.0\\.0 +python:3\\.11 +[\\d.]+MB +end-to-end test runtime`),
    );
    expect(list.stdout).not.toContain('Total runtimes');
    const info = await farm.rnx(['runtime', 'info', `${NAME}@1.0.0`]);
    expect(info.stdout).toContain('  - joblet-hello==0.1.0');
    expect(info.stdout).toContain(`  ${farm.node}`);
    const test = await farm.rnx(['runtime', 'test', NAME]);
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toContain('✓ Runtime test passed');
    expect(test.stdout).toMatch(/Output: Python 3\.11\.\d+/);
    const nodes = await farm.rnx(['node', 'list']);
    expect(nodes.stdout).toMatch(new RegExp(`${farm.node} +amd64 +online`));
  });

  it('explains a missing runtime the way the guide does', async () => {
    const r = await farm.rnx(['runtime', 'info', 'python-3.11-ml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('runtime not found: python-3.11-ml');
    expect(r.stderr).toContain('rnx runtime build');
  });
});

describe('jobs in the runtime (issue 5)', () => {
  it('runs a command in the runtime, prints its output and exits with its exit code', async () => {
    const ok = await farm.rnx([
      'job',
      'run',
      `--runtime=${NAME}`,
      'python3',
      '-c',
      'import sys; print(sys.version)',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^3\.11\.\d+ /);
    const failed = await farm.rnx([
      'job',
      'run',
      `--runtime=${NAME}`,
      'python3',
      '-c',
      'import sys; sys.exit(3)',
    ]);
    expect(failed.code).toBe(3);
  });

  it('puts --upload files in /work and applies the runtime environment and --env', async () => {
    const script = join(farm.tmp.path, 'analysis.py');
    await writeFile(
      script,
      'import os, joblet_hello\nprint(joblet_hello.GREETING, os.getcwd(), os.environ["E2E_MARKER"], os.environ["MINE"])\n',
    );
    const r = await farm.rnx([
      'job',
      'run',
      `--runtime=${NAME}@1.0.0`,
      `--upload=${script}`,
      '--env',
      'MINE=42',
      'python3',
      'analysis.py',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('hello from joblet-hello 0.1.0 /work from-the-spec 42');
    const jobs = JSON.parse((await farm.rnx(['job', 'list', '--json'])).stdout) as {
      state: string;
      node?: string;
    }[];
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expect(jobs.every((j) => j.node === farm.node)).toBe(true);
  });
});

describe('removal (issue 4)', () => {
  it(
    'removes the runtime from the store and from the node',
    async () => {
      // Independent of the tests before it: a build of this runtime still under way (a forced
      // rebuild that outlived its test) would publish and deploy it again after the removal.
      await buildsSettled(NAME);
      const r = await farm.rnx(['runtime', 'remove', '--yes', NAME]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`removed ${NAME}@1.0.0`);
      expect(await store.exists(indexKey(NAME, '1.0.0'))).toBe(false);
      const dir = join(farm.runtimesDir, NAME, '1.0.0');
      for (let i = 0; i < 100 && existsSync(dir); i++)
        await new Promise((res) => setTimeout(res, 200));
      expect(existsSync(dir)).toBe(false);
      const list = await farm.rnx(['runtime', 'list', '--json']);
      expect(JSON.parse(list.stdout)).toEqual([]);
    },
    BUILD_WAIT_MS + 60_000,
  );
});
