// What a build may add to the shared caches: only what a trusted index vouches for.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { aptAdmission, npmAdmission } from './cache-verify.js';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('cache-verify');
});
afterEach(async () => {
  await tmp.cleanup();
});

const digest = (algo: string, text: string) => createHash(algo).update(text).digest('hex');

async function file(name: string, text: string): Promise<string> {
  const p = join(tmp.path, name);
  await writeFile(p, text);
  return p;
}

describe('aptAdmission', () => {
  it('admits a .deb whose sha256 a trusted Packages index names, and nothing else', async () => {
    const lists = join(tmp.path, 'lists');
    await mkdir(lists);
    await writeFile(
      join(lists, 'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages'),
      `Package: six\nFilename: pool/main/s/six/python3-six_1.16.0-4_all.deb\nSHA256: ${digest('sha256', 'genuine deb')}\n\n`,
    );
    // A Translation file naming the hash does not count: only Packages indexes do.
    await writeFile(join(lists, 'x_Translation-en'), `SHA256: ${digest('sha256', 'other')}\n`);
    const admit = aptAdmission(lists);
    expect(await admit('python3-six_1.16.0-4_all.deb', await file('a', 'genuine deb'))).toBe(true);
    // Same name, planted bytes: refused.
    expect(await admit('python3-six_1.16.0-4_all.deb', await file('b', 'planted'))).toBe(false);
    expect(await admit('other.deb', await file('c', 'other'))).toBe(false);
    expect(await admit('partial/x.deb', await file('d', 'genuine deb'))).toBe(false);
    expect(await admit('lock', await file('e', 'genuine deb'))).toBe(false);
    // Without trusted lists, nothing.
    expect(await aptAdmission(undefined)('x.deb', await file('f', 'genuine deb'))).toBe(false);
  });
});

describe('npmAdmission', () => {
  it('admits content blobs whose bytes hash to their path; never index entries', async () => {
    const hex = digest('sha512', 'tarball');
    const path = `_cacache/content-v2/sha512/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex.slice(4)}`;
    expect(await npmAdmission(path, await file('a', 'tarball'))).toBe(true);
    expect(await npmAdmission(path, await file('b', 'planted tarball'))).toBe(false);
    const index = `_cacache/index-v5/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex.slice(4)}`;
    expect(await npmAdmission(index, await file('c', 'tarball'))).toBe(false);
    expect(await npmAdmission('_cacache/tmp/x', await file('d', 'tarball'))).toBe(false);
  });
});
