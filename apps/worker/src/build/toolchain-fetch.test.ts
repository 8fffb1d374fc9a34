import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, startFileServer, type FileServer, type TempDir } from '@joblet/testkit';
import { BuildFailure } from './build-failure.js';
import { fetchToolchainFile, toolchainCacheDir } from './toolchain-fetch.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PBS = 'https://github.com/astral-sh/python-build-standalone/releases/download';

describe('fetchToolchainFile (real HTTP, real files)', () => {
  let tmp: TempDir;
  let server: FileServer;
  const archive = Buffer.from('a tarball laid out like upstream, for the test'.repeat(1000));

  beforeAll(async () => {
    tmp = await makeTempDir('toolchain-fetch');
    server = await startFileServer(new Map([['/pbs/20260814/cpython.tar.gz', archive]]));
  });
  afterAll(async () => {
    await server.close();
    await tmp.cleanup();
  });

  it('downloads through the mirror, verifies, caches by sha256, then serves from the cache', async () => {
    const cacheDir = join(tmp.path, 'cache-ok');
    const lines: string[] = [];
    const opts = {
      cacheDir,
      file: { url: `${PBS}/20260814/cpython.tar.gz`, sha256: sha256(archive) },
      project: 'python-build-standalone' as const,
      mirrors: { 'python-build-standalone': `${server.url}/pbs` },
      report: (l: string) => lines.push(l),
    };
    const path = await fetchToolchainFile(opts);
    expect(path).toBe(join(toolchainCacheDir(cacheDir), sha256(archive)));
    expect(await readFile(path)).toEqual(archive);
    expect(lines).toEqual([`downloading ${server.url}/pbs/20260814/cpython.tar.gz`]);
    const before = server.requests.length;
    expect(await fetchToolchainFile(opts)).toBe(path);
    expect(server.requests.length).toBe(before); // no second download
    expect(lines[1]).toContain('cached on this worker');
  });

  it('fails on a wrong checksum naming URL, expected and actual sha256, and caches nothing', async () => {
    const cacheDir = join(tmp.path, 'cache-bad');
    const wrong = 'f'.repeat(64);
    const url = `${server.url}/pbs/20260814/cpython.tar.gz`;
    const err = await fetchToolchainFile({
      cacheDir,
      file: { url, sha256: wrong },
      project: 'python-build-standalone',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailure);
    expect(err).toMatchObject({
      code: 'TOOLCHAIN_FAILED',
      retryable: false,
      message: `checksum mismatch for ${url}: expected sha256 ${wrong}, got ${sha256(archive)}`,
    });
    expect(await readdir(toolchainCacheDir(cacheDir))).toEqual([]);
  });

  it('re-downloads a cached archive whose bytes changed on disk', async () => {
    const cacheDir = join(tmp.path, 'cache-damaged');
    const file = { url: `${server.url}/pbs/20260814/cpython.tar.gz`, sha256: sha256(archive) };
    const path = await fetchToolchainFile({ cacheDir, file, project: 'python-build-standalone' });
    await writeFile(path, 'tampered');
    await fetchToolchainFile({ cacheDir, file, project: 'python-build-standalone' });
    expect(await readFile(path)).toEqual(archive);
  });

  it('names the URL and status of a missing file (not retried)', async () => {
    const url = `${server.url}/nope.tar.gz`;
    const err = await fetchToolchainFile({
      cacheDir: join(tmp.path, 'cache-404'),
      file: { url, sha256: sha256(archive) },
      project: 'go',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'TOOLCHAIN_FAILED',
      retryable: false,
      message: `cannot download ${url}: HTTP 404`,
    });
  });
});
