/**
 * `rnx farm up --dir "$(mktemp -d)"` (mode 0700): refused at start, naming the directory, before
 * anything is started or written there; a directory others can enter, or one still to be made
 * under such a directory, is accepted.
 */
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { farmUp } from '../commands/farm.js';
import type { Io } from '../io.js';
import { checkFarmDirTraversable } from './farm-dir-check.js';

const dirs: TempDir[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.cleanup();
});
const io: Io = { out: () => undefined, err: () => undefined, color: false };

describe('farm directory check', () => {
  it('refuses a 0700 --dir naming it, and starts nothing there', async () => {
    const tmp = await makeTempDir('farm-dir-'); // mkdtemp: 0700, as mktemp -d
    dirs.push(tmp);
    const up = farmUp(
      {
        dir: tmp.path,
        port: 0,
        auth: 'none',
        redisUrl: 'redis://127.0.0.1:6379',
        prefix: 'unused',
      } as Parameters<typeof farmUp>[0],
      io,
    );
    await expect(up).rejects.toThrow(
      `farm directory ${tmp.path} cannot be used: ${tmp.path} is mode 0700, so the farm's job user and build sandboxes cannot enter it; run chmod o+x ${tmp.path}, or choose another --dir`,
    );
    expect(readdirSync(tmp.path)).toEqual([]);
  });

  it('names the ancestor others cannot enter, and accepts a searchable one', async () => {
    const tmp = await makeTempDir('farm-dir-');
    dirs.push(tmp);
    const closed = join(tmp.path, 'closed');
    mkdirSync(join(closed, 'farm'), { recursive: true, mode: 0o755 });
    chmodSync(tmp.path, 0o755);
    chmodSync(closed, 0o750);
    expect(() => checkFarmDirTraversable(join(closed, 'farm', 'not-yet'))).toThrow(
      `${closed} is mode 0750`,
    );
    chmodSync(closed, 0o755);
    expect(() => checkFarmDirTraversable(join(closed, 'farm', 'not-yet'))).not.toThrow();
  });
});
