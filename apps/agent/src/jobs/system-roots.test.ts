import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOBODY, isRoot } from '@joblet/sandbox';
import { cleanupTemps, tempDir } from '@joblet/sandbox/testing';
import { SystemRoots } from './system-roots.js';

afterAll(cleanupTemps);

/** RUNTIMES_DIR/<name>/<version>/isolated with a file in etc/. */
function installed(runtimes: string, name: string, version: string, text: string): string {
  const dir = join(runtimes, name, version);
  mkdirSync(join(dir, 'isolated/etc'), { recursive: true });
  writeFileSync(join(dir, 'isolated/etc/os-release'), text);
  return dir;
}

describe.skipIf(!isRoot())('SystemRoots [requires root]', () => {
  it('copies the tree once, owned by the namespace root, and leaves the installed tree 0:0', async () => {
    const base = tempDir('system-roots');
    const runtimes = join(base, 'runtimes');
    const dir = installed(runtimes, 'debian-12', '1.0.0', 'bookworm\n');
    const roots = new SystemRoots({ dir: join(base, 'roots'), uid: NOBODY, gid: NOBODY });
    const [a, b] = await Promise.all([roots.lower(dir), roots.lower(dir)]);
    expect(a).toBe(b);
    expect(statSync(join(a, 'etc/os-release')).uid).toBe(NOBODY);
    expect(statSync(join(a, 'etc')).gid).toBe(NOBODY);
    expect(statSync(join(dir, 'isolated/etc/os-release')).uid).toBe(0);
    expect(statSync(join(base, 'roots')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(base, 'roots'))).toEqual([a.split('/').pop()]);
  });

  it('replaces the copy of a reinstalled runtime and prunes what is no longer installed', async () => {
    const base = tempDir('system-roots');
    const runtimes = join(base, 'runtimes');
    const dir = installed(runtimes, 'debian-12', '1.0.0', 'one\n');
    const gone = installed(runtimes, 'debian-13', '1.0.0', 'trixie\n');
    const roots = new SystemRoots({ dir: join(base, 'roots'), uid: NOBODY, gid: NOBODY });
    const first = await roots.lower(dir);
    await roots.lower(gone);
    // A reinstall renames a new tree into place.
    const fresh = installed(join(base, 'staging'), 'debian-12', '1.0.0', 'two\n');
    renameSync(join(dir, 'isolated'), join(base, 'old-isolated'));
    renameSync(join(fresh, 'isolated'), join(dir, 'isolated'));
    const second = await roots.lower(dir);
    expect(second).not.toBe(first);
    expect(readdirSync(join(base, 'roots'))).not.toContain(first.split('/').pop());
    renameSync(gone, join(base, 'removed'));
    const removed = await roots.prune((n, v) => join(runtimes, n, v));
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^debian-13@1\.0\.0@/);
    expect(readdirSync(join(base, 'roots'))).toEqual([second.split('/').pop()]);
  });
});
