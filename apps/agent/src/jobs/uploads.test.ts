// Writing uploads into a job's /work: nested files with their modes, and every way a path could
// lead outside — `..`, absolute paths, symlinks planted in the directory beforehand (to a
// directory, to a file, dangling) — refused with the host left exactly as it was.
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keys, createRedis } from '@joblet/queue';
import { NOBODY } from '@joblet/sandbox';
import { makeTempDir, uniqueName, type TempDir } from '@joblet/testkit';
import { REDIS_URL, isRoot } from '../test-support.js';
import { JobFailure } from './job-errors.js';
import { upload } from './job-test-support.js';
import { loadJobSecrets, writeUploads } from './uploads.js';

let tmp: TempDir;
let work: string;
let outside: string;

beforeEach(async () => {
  tmp = await makeTempDir('uploads');
  work = join(tmp.path, 'job/work');
  outside = join(tmp.path, 'outside');
  mkdirSync(work, { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'target'), 'original');
});
afterEach(async () => {
  await tmp.cleanup();
});

/** Every path under `dir` with its content or link target: the state a test proves unchanged. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out[p] = `-> link`;
      else out[p] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

async function refused(uploads: Parameters<typeof writeUploads>[1]): Promise<string> {
  const err = await writeUploads(work, uploads).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(JobFailure);
  expect((err as JobFailure).reason).toBe('start-failed');
  return (err as JobFailure).message;
}

describe('writeUploads', () => {
  it('writes nested files with their modes, owned by the sandbox uid', async () => {
    const r = await writeUploads(
      work,
      [upload('a.txt', 'A'), upload('d/e/f.sh', 'echo', 0o755), upload('d/g', 'G', 0o600)],
      { uid: NOBODY, gid: NOBODY },
    );
    expect(r).toEqual({ files: 3, bytes: 6 });
    expect(readFileSync(join(work, 'd/e/f.sh'), 'utf8')).toBe('echo');
    expect(lstatSync(join(work, 'd/e/f.sh')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(work, 'd/g')).mode & 0o7777).toBe(0o600);
    if (isRoot) {
      expect(lstatSync(join(work, 'a.txt')).uid).toBe(NOBODY);
      expect(lstatSync(join(work, 'd/e')).uid).toBe(NOBODY);
    }
  });

  it('refuses .., absolute, dot and empty segments, setuid modes', async () => {
    const before = snapshot(tmp.path);
    expect(await refused([upload('../escape', 'x')])).toContain('"../escape"');
    expect(await refused([upload(`${outside}/abs`, 'x')])).toContain('relative');
    expect(await refused([upload('a/./b', 'x')])).toContain('..');
    expect(await refused([upload('a//b', 'x')])).toContain('empty');
    expect(await refused([upload('x', 'x', 0o4755)])).toContain('permission bits');
    expect(snapshot(tmp.path)).toEqual(before);
  });

  it('never follows a symlink planted in /work: to a directory, a file, or nowhere', async () => {
    symlinkSync(outside, join(work, 'link'));
    symlinkSync(join(outside, 'target'), join(work, 'file'));
    symlinkSync(join(outside, 'newdir'), join(work, 'dangling'));
    mkdirSync(join(work, 'real'));
    symlinkSync('../../outside', join(work, 'real/rel'));
    const before = snapshot(tmp.path);
    expect(await refused([upload('link/x', 'pwned')])).toContain('link is not a directory');
    expect(await refused([upload('link/deep/x', 'pwned')])).toContain('link is not a directory');
    expect(await refused([upload('file', 'pwned')])).toContain('exists already');
    expect(await refused([upload('dangling/x', 'pwned')])).toContain('not a directory');
    expect(await refused([upload('dangling', 'pwned')])).toContain('exists already');
    expect(await refused([upload('real/rel/x', 'pwned')])).toContain('real/rel is not a directory');
    expect(snapshot(tmp.path)).toEqual(before);
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('original');
    expect(readdirSync(outside)).toEqual(['target']);
  });

  it('refuses a path given twice and a file used as a directory', async () => {
    expect(await refused([upload('a', '1'), upload('a', '2')])).toContain('exists already');
    expect(readFileSync(join(work, 'a'), 'utf8')).toBe('1');
    expect(await refused([upload('b', '1'), upload('b/c', '2')])).toContain('b is not a directory');
  });

  it('enforces the upload limits itself', async () => {
    const many = Array.from({ length: 2001 }, (_, i) => upload(`f${i}`, ''));
    expect(await refused(many)).toContain('2001 uploads; the limit is 2000');
    const big = Buffer.alloc(40 * 1024 * 1024).toString('base64');
    const two = [
      { path: 'b1', content: big, mode: 0o644 },
      { path: 'b2', content: big, mode: 0o644 },
    ];
    expect(await refused(two)).toContain('exceed');
  });
});

describe('loadJobSecrets', () => {
  it('reads env and uploads; a record with env names but no secrets fails', async () => {
    const redis = createRedis({ url: REDIS_URL });
    const keys = new Keys(uniqueName('uploads'));
    try {
      const job = { id: 'j1', uploads: [], env: ['A'] };
      await expect(loadJobSecrets(redis, keys, job)).rejects.toThrow(/gone/);
      await expect(loadJobSecrets(redis, keys, { ...job, env: [] })).resolves.toEqual({
        env: {},
        uploads: [],
      });
      await redis.set(keys.jobUploads('j1'), JSON.stringify({ env: { A: '1' }, uploads: [] }));
      await expect(loadJobSecrets(redis, keys, job)).resolves.toEqual({
        env: { A: '1' },
        uploads: [],
      });
      await redis.set(keys.jobUploads('j1'), JSON.stringify({ env: { 'BAD-NAME': '1' } }));
      await expect(loadJobSecrets(redis, keys, job)).rejects.toThrow(/invalid/);
      await redis.set(keys.jobUploads('j1'), '{not json');
      await expect(loadJobSecrets(redis, keys, job)).rejects.toThrow(/JSON/);
    } finally {
      await redis.del(keys.jobUploads('j1'));
      await redis.quit();
    }
  });
});
