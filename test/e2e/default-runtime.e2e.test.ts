/**
 * The default runtime, through a farm started by `rnx farm up` and the real `rnx`: a job without
 * `--runtime` on a fresh farm waits for the farm to build its default runtime (debian-12, from
 * the spec the farm ships) and then runs in it — with a writable root that the next job does not
 * see, as root of its own user namespace, so the guide's "traditional approach" (apt-get update
 * && apt-get install) works with egress. The runtime is listed like any other.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { farmForSuite } from './farm-fixture.js';

describe('jobs without --runtime run in the farm’s default runtime', () => {
  const farm = farmForSuite();

  it('builds it on first use, then runs the job in a writable root that is thrown away', async () => {
    const first = await farm().rnx(['job', 'run', 'echo hi > /etc/x && cat /etc/x && id -u'], {
      timeoutMs: 1_200_000,
    });
    expect(first.stderr).toContain('default runtime debian-12 is being built on first use');
    expect(first.stdout).toBe('hi\n0\n');
    expect(first.code).toBe(0);

    const second = await farm().rnx(['job', 'run', 'cat /etc/x']);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('/etc/x: No such file or directory');
    // Nothing of either job is left on the node: no job dirs, no overlay mounted anywhere. The
    // agent records the final state first and cleans up right after, so this waits for it.
    await vi.waitFor(
      async () => {
        const jobs = (await readdir(join(farm().dir, 'jobs'))).filter((n) => !n.startsWith('.'));
        expect(jobs).toEqual([]);
        // No mount of the job is left (the agent's ready-made /work disks, `.disk-*`, excepted).
        const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
          .split('\n')
          .filter((l) => l.includes(farm().dir) && !l.includes('/.disk-'));
        expect(mounts).toEqual([]);
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 1_500_000);

  it('runs the guide’s traditional approach verbatim with egress: apt-get update && install', async () => {
    const r = await farm().rnx(
      [
        'job',
        'run',
        '--network',
        'egress',
        'apt-get update && apt-get install -y cowsay && /usr/games/cowsay moo',
      ],
      { timeoutMs: 900_000 },
    );
    expect(r.stderr).not.toMatch(/^E: /m);
    expect(r.stdout).toContain('< moo >');
    expect(r.code).toBe(0);
    // The next job starts from the published root again.
    const clean = await farm().rnx(['job', 'run', 'test ! -e /usr/games/cowsay && echo clean']);
    expect(clean.stdout).toBe('clean\n');
  }, 1_000_000);

  it('is listed and described like any runtime', async () => {
    const list = await farm().rnx(['runtime', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^debian-12\s+1\.0\.0\s/m);
    const info = await farm().rnx(['runtime', 'info', 'debian-12']);
    expect(info.stdout).toContain('Language: debian 12');
  }, 300_000);
});
