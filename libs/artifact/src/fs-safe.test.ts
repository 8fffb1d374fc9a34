import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountsUnder } from '@joblet/sandbox';
import { removeTree } from './fs-safe.js';
import { isRoot } from '@joblet/sandbox';
import { cleanupTemps, tempDir, x } from './testing.js';

afterAll(cleanupTemps);

describe('removeTree', () => {
  it('removes a tree with read-only directories', async () => {
    const d = tempDir('rm');
    mkdirSync(join(d, 'a/b'), { recursive: true });
    writeFileSync(join(d, 'a/b/f'), 'x');
    x('chmod', ['-R', 'a-w', join(d, 'a')]);
    await removeTree(join(d, 'a'));
    expect(existsSync(join(d, 'a'))).toBe(false);
    await removeTree(join(d, 'missing')); // absent is fine
  });

  it.skipIf(!isRoot())(
    'unmounts before deleting, so a bind mount inside never loses host files [requires root]',
    async () => {
      const host = tempDir('rm-host');
      writeFileSync(join(host, 'precious'), 'keep me');
      const tree = tempDir('rm-tree');
      mkdirSync(join(tree, 'dev'));
      mkdirSync(join(tree, 'proc'));
      x('mount', ['--bind', host, join(tree, 'dev')]);
      x('mount', ['-t', 'tmpfs', 'tmpfs', join(tree, 'proc')]);
      mkdirSync(join(tree, 'proc/nested'));
      x('mount', ['-t', 'tmpfs', 'tmpfs', join(tree, 'proc/nested')]);
      expect(await mountsUnder(tree)).toEqual([
        join(tree, 'proc/nested'),
        join(tree, 'proc'),
        join(tree, 'dev'),
      ]);
      await removeTree(tree);
      expect(existsSync(tree)).toBe(false);
      expect(await mountsUnder(tree)).toEqual([]);
      expect(existsSync(join(host, 'precious'))).toBe(true);
    },
  );
});
