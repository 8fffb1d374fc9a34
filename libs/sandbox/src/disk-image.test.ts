// Size-limited directories for real: a sparse ext4 image loop-mounted on this kernel. A write
// past the size fails with ENOSPC and the host disk gives no more than the size; release and the
// crash clean-up leave no mount, no loop device and no image.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, statfsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOBODY } from './bwrap.js';
import {
  cleanupDiskImages,
  createDiskImage,
  diskImagesMissing,
  isMountPoint,
  mountDiskImage,
  mountsUnder,
  releaseDiskImage,
} from './disk-image.js';
import { SandboxErrorCode } from './errors.js';
import { loopDevicesBackedBy } from './loop-devices.js';
import { cleanupTemps, tempDir } from './testing.js';

const MiB = 1024 * 1024;
const missing = diskImagesMissing();

/** Host free bytes of the filesystem holding `path`. */
function hostFree(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

/** Writes `mb` MiB of zeros to `file` as the sandbox user; returns dd's exit code and stderr. */
function ddAsNobody(file: string, mb: number): { code: number | null; stderr: string } {
  const r = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mb}`, 'conv=fsync'], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr };
}

const dirs: string[] = [];
/** A temp dir the sandbox user can traverse (as AGENT_WORK_DIR is). */
function newDir(): string {
  const d = tempDir('disk');
  chmodSync(d, 0o711);
  dirs.push(d);
  return d;
}

async function nothingLeftUnder(dir: string): Promise<void> {
  expect(await mountsUnder(dir)).toEqual([]);
  expect(await loopDevicesBackedBy(dir, { under: true })).toEqual([]);
}

describe.skipIf(missing !== undefined)(`disk images [requires ${missing ?? 'root, loop'}]`, () => {
  afterAll(async () => {
    // A failed test may leave a mount: unmounted first, so removing the temp dirs stays above it.
    for (const d of dirs) await cleanupDiskImages(d);
    await cleanupTemps();
  });

  it('stops a write at the size with ENOSPC, then releases everything', async () => {
    const dir = newDir();
    const image = join(dir, 'work.img');
    const mnt = join(dir, 'work');
    const before = hostFree(dir);
    await createDiskImage({ image, mountPoint: mnt, sizeBytes: 32 * MiB });
    expect(await isMountPoint(mnt)).toBe(true);
    expect(readdirSync(mnt)).toEqual([]); // lost+found removed
    expect(statSync(mnt).uid).toBe(NOBODY);
    expect(await loopDevicesBackedBy(image)).toHaveLength(1);

    const r = ddAsNobody(join(mnt, 'fill'), 64);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No space left on device');
    const written = statSync(join(mnt, 'fill')).size;
    expect(written).toBeGreaterThan(24 * MiB);
    expect(written).toBeLessThanOrEqual(32 * MiB);
    // The image is sparse: the host disk gave it at most its size.
    expect(statSync(image).blocks * 512).toBeLessThanOrEqual(32 * MiB);
    expect(before - hostFree(dir)).toBeLessThan(48 * MiB);

    await releaseDiskImage(image, mnt);
    expect(existsSync(image)).toBe(false);
    expect(existsSync(mnt)).toBe(false);
    await nothingLeftUnder(dir);
    await releaseDiskImage(image, mnt); // idempotent
  });

  it('keeps data across a remount of a kept image (a volume)', async () => {
    const dir = newDir();
    const image = join(dir, 'vol.img');
    const mnt = join(dir, 'vol');
    await createDiskImage({ image, mountPoint: mnt, sizeBytes: 16 * MiB, journal: true });
    expect(ddAsNobody(join(mnt, 'data'), 2).code).toBe(0);
    await releaseDiskImage(image, mnt, { keepImage: true });
    expect(existsSync(image)).toBe(true);
    await nothingLeftUnder(dir);
    await mountDiskImage(image, mnt);
    expect(statSync(join(mnt, 'data')).size).toBe(2 * MiB);
    await releaseDiskImage(image, mnt);
    await nothingLeftUnder(dir);
  });

  it('refuses a size below the minimum and leaves no file', async () => {
    const dir = newDir();
    const image = join(dir, 'tiny.img');
    await expect(
      createDiskImage({ image, mountPoint: join(dir, 'm'), sizeBytes: MiB }),
    ).rejects.toMatchObject({ code: SandboxErrorCode.LimitInvalid });
    expect(existsSync(image)).toBe(false);
  });

  it('cleans up after a crash: mounted, image deleted under the loop device', async () => {
    const dir = newDir();
    for (const n of ['a', 'b']) {
      await createDiskImage({
        image: join(dir, `${n}.img`),
        mountPoint: join(dir, n, 'work'),
        sizeBytes: 16 * MiB,
      });
    }
    unlinkSync(join(dir, 'b.img')); // as a crash between "delete" and "detach" might leave it
    expect(await mountsUnder(dir)).toHaveLength(2);
    const done = await cleanupDiskImages(dir);
    expect(done.filter((d) => d.startsWith('unmounted'))).toHaveLength(2);
    await nothingLeftUnder(dir);
  });
});
