/**
 * A runtime tree of realistic size without a build: the Debian test runtime plus the host's
 * Python 3.11 standard library and pip, hard-linked (used by the pack and prune benches).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeDebianTree, x, type TreeOptions } from '@joblet/agent/testing';
import type { RuntimeYml } from '@joblet/spec';

export function makePythonTree(dir: string, o: TreeOptions): RuntimeYml {
  const yml = makeDebianTree(dir, o);
  const iso = join(dir, 'isolated');
  x('cp', ['-al', '/usr/lib/python3.11', join(iso, 'usr/lib/python3.11')]);
  mkdirSync(join(iso, 'usr/lib/python3/dist-packages'), { recursive: true });
  x('cp', [
    '-al',
    '/usr/lib/python3/dist-packages/pip',
    join(iso, 'usr/lib/python3/dist-packages/pip'),
  ]);
  return yml;
}
