// The checks that decide whether a used /work disk may serve another job, on real loop-mounted
// ext4 images: an emptied disk is as made; one with anything outside /work, a mount inside, or an
// image grown on the node's disk is refused (and then removed by work-disks.ts).
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { diskImagesMissing } from '@joblet/sandbox';
import { freshState, wipeForReuse } from './disk-reuse.js';
import { createJobDir, removeJobDir, type JobDir } from './job-dirs.js';

const MiB = 1024 * 1024;
const missing = diskImagesMissing();

describe.skipIf(missing !== undefined)(
  `reusing a /work disk [requires ${missing ?? 'loop devices'}]`,
  () => {
    let tmp: TempDir;
    const made: JobDir[] = [];

    async function disk(mb: number): Promise<JobDir> {
      const d = await createJobDir(tmp.path, randomUUID(), mb * MiB);
      made.push(d);
      return d;
    }

    beforeAll(async () => {
      tmp = await makeTempDir('disk-reuse-');
    });
    afterAll(async () => {
      for (const d of made) await removeJobDir(d).catch(() => undefined);
      await tmp?.cleanup();
    });

    it('empties /work and finds the disk as made', async () => {
      const d = await disk(24);
      const fresh = await freshState(d);
      mkdirSync(`${d.work}/a/b`, { recursive: true });
      writeFileSync(`${d.work}/a/b/f`, Buffer.alloc(4 * MiB, 7));
      writeFileSync(`${d.work}/.hidden`, 'x');
      expect(await wipeForReuse(d, fresh)).toBeUndefined();
      const { ino, bfree, ffree } = fresh; // (allocated may grow a little: writeback)
      expect(await freshState(d)).toMatchObject({ ino, bfree, ffree });
    });

    it('refuses a disk with anything outside /work in its filesystem', async () => {
      const d = await disk(24);
      const fresh = await freshState(d);
      writeFileSync(`${d.mount}/outside`, 'x');
      expect(await wipeForReuse(d, fresh)).toMatch(/the filesystem holds outside besides \/work/);
    });

    it('refuses a disk whose job directory holds more (a system root’s layers)', async () => {
      const d = await disk(24);
      const fresh = await freshState(d);
      mkdirSync(`${d.dir}/root-upper`);
      expect(await wipeForReuse(d, fresh)).toMatch(/the job directory holds/);
    });

    it('refuses a disk whose image grew on the node’s disk', async () => {
      const d = await disk(64);
      const fresh = await freshState(d);
      // Written (through to the image: fsync) and deleted: the filesystem is empty again, but
      // the sparse image keeps the blocks.
      const fd = openSync(`${d.work}/big`, 'w');
      writeSync(fd, Buffer.alloc(40 * MiB, 1));
      fsyncSync(fd);
      closeSync(fd);
      expect(await wipeForReuse(d, fresh)).toMatch(/its image grew to \d+ MiB/);
    });
  },
);
