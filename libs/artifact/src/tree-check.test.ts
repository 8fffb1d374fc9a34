import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemps, tempDir, x } from './testing.js';
import { checkTree } from './tree-check.js';

afterAll(cleanupTemps);

describe('checkTree', () => {
  it('accepts an ordinary tree with in-tree links, loops and dangling links', async () => {
    const d = tempDir('check-ok');
    mkdirSync(join(d, 'usr/lib'), { recursive: true });
    writeFileSync(join(d, 'usr/lib/libx.so.1'), 'x');
    linkSync(join(d, 'usr/lib/libx.so.1'), join(d, 'usr/lib/libx-copy'));
    symlinkSync('usr/lib', join(d, 'lib'));
    symlinkSync('../lib/libx.so.1', join(d, 'usr/libx.so'));
    symlinkSync('loop-b', join(d, 'loop-a'));
    symlinkSync('loop-a', join(d, 'loop-b'));
    symlinkSync('missing/deeper', join(d, 'dangling'));
    expect(await checkTree(d, 'contained')).toBeUndefined();
  });

  it('refuses a file hard-linked to something outside the tree', async () => {
    const outside = tempDir('check-outside');
    writeFileSync(join(outside, 'secret'), 's');
    const d = tempDir('check-hl');
    linkSync(join(outside, 'secret'), join(d, 'innocent'));
    expect(await checkTree(d, 'contained')).toEqual({
      entry: 'innocent',
      reason: 'is hard-linked to a file outside the tree',
    });
  });

  it('follows symlinks through other symlinks as the kernel does', async () => {
    const d = tempDir('check-chain');
    mkdirSync(join(d, 'a/b'), { recursive: true });
    symlinkSync('a/b', join(d, 'deep'));
    symlinkSync('deep/../..', join(d, 'ok')); // a/b/../.. = root: inside
    expect(await checkTree(d, 'contained')).toBeUndefined();
    symlinkSync('deep/../../..', join(d, 'out')); // one level above the root
    expect(await checkTree(d, 'contained')).toEqual({
      entry: 'out',
      reason: 'is a symlink that escapes the tree',
    });
  });

  it('applies the policy to absolute targets reached through a chain', async () => {
    const d = tempDir('check-abs');
    symlinkSync('/etc', join(d, 'etc-link'));
    symlinkSync('etc-link/passwd', join(d, 'pw'));
    expect((await checkTree(d, 'contained'))?.reason).toBe(
      'is a symlink that resolves to an absolute path',
    );
    expect(await checkTree(d, 'rooted')).toBeUndefined();
    symlinkSync('/../..', join(d, 'z-up'));
    expect(await checkTree(d, 'rooted')).toEqual({
      entry: 'z-up',
      reason: 'is a symlink that escapes the tree',
    });
  });

  it('refuses FIFOs and setuid/setgid files', async () => {
    const d = tempDir('check-special');
    x('mkfifo', [join(d, 'p')]);
    expect(await checkTree(d, 'contained')).toEqual({ entry: 'p', reason: 'is a FIFO' });
    const e = tempDir('check-sgid');
    mkdirSync(join(e, 'dir'));
    x('chmod', ['2755', join(e, 'dir')]);
    expect(await checkTree(e, 'contained')).toEqual({ entry: 'dir', reason: 'has the setgid bit' });
  });

  it('refuses files and directories writable by others, unless the tree need not be normalised', async () => {
    const d = tempDir('check-ww');
    mkdirSync(join(d, 'lib'));
    writeFileSync(join(d, 'lib/libx.so'), 'x');
    symlinkSync('lib/libx.so', join(d, 'link')); // symlinks are 0777 and do not count
    expect(await checkTree(d, 'contained')).toBeUndefined();
    x('chmod', ['0666', join(d, 'lib/libx.so')]);
    expect(await checkTree(d, 'contained')).toEqual({
      entry: 'lib/libx.so',
      reason: 'is writable by others (mode 666)',
    });
    expect(await checkTree(d, { symlinks: 'contained', normalised: false })).toBeUndefined();
    x('chmod', ['1777', join(d, 'lib')]);
    expect(await checkTree(d, 'rooted')).toEqual({
      entry: 'lib',
      reason: 'is writable by others (mode 1777)',
    });
  });
});
