/**
 * `rnx runtime build --arch amd64,arm64 [--allow-partial]` through its real binary against a
 * running API, when one arch fails: the output names the arch that failed, its error code,
 * message and output tail, and the summary table; exit 1 without --allow-partial, exit 0 with it
 * (published for amd64 only, saying arm64 is missing). The arch pools are played by this test:
 * it answers each submitted build the way the workers report an amd64 success and an arm64 hook
 * failure (events on the build's stream, the record in BuildStore), deciding the end from the
 * record's `allowPartial` as the publish job does — so the flag is also checked to reach the
 * farm. Real builds failing on arm64 are in apps/worker/src/arm64.e2e.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent } from '@joblet/queue';
import type { BuildError, BuildEvent } from '@joblet/spec';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { startTestApi, type TestApi } from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;
let pools: NodeJS.Timeout;
const answered = new Set<string>();
const meta = new Map<string, { allowPartial: boolean }>();

function rnx(args: string[]) {
  const env = { HOME: home.path, RNX_CONFIG: '/nonexistent' };
  return runRnx(['--server', api.url!, ...args], env, { timeoutMs: 60_000 });
}

const HOOK_FAILED: BuildError = {
  code: 'HOOK_FAILED',
  message: 'post_install hook exited with status 3',
  details: 'checking the architecture\nno arm64 support in this runtime',
};

/** Plays both arch pools and the publisher for one build: amd64 succeeds, arm64 fails. */
async function answer(buildId: string): Promise<void> {
  const s = api.app;
  const emit = (e: BuildEvent) => appendEvent(s.redis, s.keys.buildEvents(buildId), e);
  const m = (await s.buildStore.getMeta(buildId))!;
  meta.set(buildId, { allowPartial: m.allowPartial });
  const artifact = {
    arch: 'amd64' as const,
    archiveKey: `runtimes/${m.name}/${m.version}/amd64/runtime.tar.zst`,
    manifestKey: `runtimes/${m.name}/${m.version}/amd64/manifest.json`,
    sha256: 'a'.repeat(64),
    size: 41_000_000,
    treeHash: 'tree-amd64',
    treeBytes: 130_000_000,
    buildKey: 'k'.repeat(64),
  };
  await emit({ type: 'phase', arch: 'amd64', n: 1, total: 12, name: 'Preparing base root' });
  await emit({ type: 'phase', arch: 'arm64', n: 1, total: 12, name: 'Preparing base root' });
  await s.buildStore.updateArch(buildId, 'amd64', { state: 'succeeded', artifact });
  await emit({ type: 'arch-succeeded', arch: 'amd64', artifact, durationMs: 61_000 });
  await emit({ type: 'phase', arch: 'arm64', n: 9, total: 12, name: 'Running post_install hook' });
  await s.buildStore.updateArch(buildId, 'arm64', { state: 'failed', error: HOOK_FAILED });
  await emit({ type: 'arch-failed', arch: 'arm64', error: HOOK_FAILED });
  if (m.allowPartial) {
    await s.buildStore.finish(buildId, 'succeeded');
    await emit({ type: 'done', state: 'succeeded' });
  } else {
    const error = { ...HOOK_FAILED, message: `arm64: ${HOOK_FAILED.message}` };
    await s.buildStore.finish(buildId, 'failed', error);
    await emit({ type: 'done', state: 'failed', error });
  }
}

beforeAll(async () => {
  home = await makeTempDir('rnx-build-');
  api = await startTestApi(['amd64', 'arm64'], { listen: true });
  pools = setInterval(() => {
    void api.app.buildStore.list().then(async (builds) => {
      for (const b of builds) {
        if (answered.has(b.id)) continue;
        answered.add(b.id);
        await answer(b.id);
      }
    });
  }, 50);
});
afterAll(async () => {
  clearInterval(pools);
  await api?.close();
  await home?.cleanup();
});

const spec = async (version: string) => {
  const file = join(home.path, `runtime-${version}.yaml`);
  await writeFile(
    file,
    `schema_version: "1.0"\nname: py-partial\nversion: ${version}\ndescription: partial test\nbase:\n  language: python\n  version: "3.11"\n`,
  );
  return file;
};

describe('rnx runtime build when one arch fails', () => {
  it('names the failed arch and why, and exits 1 without --allow-partial', async () => {
    const r = await rnx(['runtime', 'build', '--arch', 'amd64,arm64', await spec('1.0.0')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('Building py-partial 1.0.0 for amd64, arm64');
    expect(r.stdout).toMatch(/^\[amd64\] ✓ built in /m);
    expect(r.stdout).toContain(
      '[arm64] ✗ failed: HOOK_FAILED: post_install hook exited with status 3',
    );
    expect(r.stdout).toContain('[arm64]   no arm64 support in this runtime');
    expect(r.stdout).toContain(
      '✗ py-partial 1.0.0 failed: arm64: post_install hook exited with status 3',
    );
    expect(r.stdout).toMatch(/^ {2}amd64 +built +/m);
    expect(r.stdout).toMatch(/^ {2}arm64 +failed +- +- /m);
    expect([...meta.values()].at(-1)).toEqual({ allowPartial: false });
  });

  it('with --allow-partial publishes amd64 only, says arm64 failed and why, and exits 0', async () => {
    const r = await rnx([
      'runtime',
      'build',
      '--arch',
      'amd64,arm64',
      '--allow-partial',
      await spec('1.0.1'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      '[arm64] ✗ failed: HOOK_FAILED: post_install hook exited with status 3',
    );
    expect(r.stdout).toContain('[arm64]   no arm64 support in this runtime');
    expect(r.stdout).toContain(
      '! py-partial 1.0.1 published for amd64 only (--allow-partial; failed: arm64)',
    );
    expect(r.stdout).toMatch(/^ {2}arm64 +failed +/m);
    expect([...meta.values()].at(-1)).toEqual({ allowPartial: true });
  });
});

/** stdout of `--progress=json`: every line one JSON object with a type and a time. */
function events(
  stdout: string,
): { type: string; time: string; arch?: string; [k: string]: unknown }[] {
  const lines = stdout.trimEnd().split('\n');
  return lines.map((l) => JSON.parse(l) as { type: string; time: string });
}

describe('rnx runtime build --progress=json', () => {
  it('streams NDJSON: queued, started and results per arch, published, done with the exit code', async () => {
    const r = await rnx([
      'runtime',
      'build',
      '--progress=json',
      '--arch',
      'amd64,arm64',
      '--allow-partial',
      await spec('1.0.2'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stdout);
    for (const e of ev) expect(Date.parse(e.time)).not.toBeNaN();
    expect(ev[0]).toMatchObject({ type: 'queued', name: 'py-partial', version: '1.0.2' });
    expect(ev[0]!.arches).toEqual(['amd64', 'arm64']);
    const build = ev[0]!.build;
    expect(ev.every((e) => e.build === build)).toBe(true);
    const types = ev.map((e) => `${e.type}${e.arch ? `:${e.arch}` : ''}`);
    expect(types.indexOf('started:amd64')).toBeLessThan(types.indexOf('phase:amd64'));
    expect(types).toContain('started:arm64');
    expect(ev.find((e) => e.type === 'phase' && e.arch === 'arm64' && e.n === 9)).toMatchObject({
      total: 12,
      name: 'Running post_install hook',
    });
    expect(ev.find((e) => e.type === 'succeeded')).toMatchObject({
      arch: 'amd64',
      durationMs: 61_000,
      artifact: { sha256: 'a'.repeat(64), size: 41_000_000 },
    });
    expect(ev.find((e) => e.type === 'failed')).toMatchObject({
      arch: 'arm64',
      error: HOOK_FAILED,
    });
    expect(ev.at(-2)).toMatchObject({ type: 'published', arches: ['amd64'] });
    expect(ev.at(-1)).toMatchObject({ type: 'done', state: 'succeeded', exitCode: 0 });
  });

  it('ends with done, state failed and exit code 1 when an arch fails', async () => {
    const r = await rnx([
      'runtime',
      'build',
      '--progress',
      'json',
      '--arch',
      'amd64,arm64',
      await spec('1.0.3'),
    ]);
    expect(r.code).toBe(1);
    const ev = events(r.stdout);
    expect(ev.map((e) => e.type)).not.toContain('published');
    expect(ev.at(-1)).toMatchObject({ type: 'done', state: 'failed', exitCode: 1 });
    expect((ev.at(-1)!.error as { code: string }).code).toBe('HOOK_FAILED');
  });

  it('reports an invalid spec as diagnostic events, and --json with it is a usage error', async () => {
    const file = join(home.path, 'bad.yaml');
    await writeFile(file, 'schema_version: "1.0"\nname: Bad Name\nversion: 1.0.0\n');
    const r = await rnx(['runtime', 'build', '--progress=json', file]);
    expect(r.code).toBe(1);
    const ev = events(r.stdout);
    expect(ev[0]).toMatchObject({ type: 'diagnostic', severity: 'error', file });
    expect(ev[0]!.line).toEqual(expect.any(Number));
    expect(ev.at(-1)).toMatchObject({ type: 'done', state: 'invalid', exitCode: 1 });
    const both = await rnx(['runtime', 'build', '--progress=json', '--json', file]);
    expect(both.code).toBe(2);
  });
});
