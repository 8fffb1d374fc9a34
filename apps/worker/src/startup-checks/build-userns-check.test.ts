import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUBID_COUNT, hasCommand, isRoot } from '@joblet/sandbox';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { BuildUsernsUnavailableError, checkBuildUserns } from './build-userns-check.js';

const buildSubids = { first: 100000, count: SUBID_COUNT };
let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('userns-check');
  await chmod(tmp.path, 0o755);
});
afterEach(async () => {
  await tmp.cleanup();
});

/** subuid/subgid files holding `text`, and a work dir below the (searchable) temp dir. */
async function host(text: string) {
  const subuidFile = join(tmp.path, 'subuid');
  const subgidFile = join(tmp.path, 'subgid');
  await writeFile(subuidFile, text);
  await writeFile(subgidFile, text);
  return { config: { buildSubids, workDir: join(tmp.path, 'work') }, subuidFile, subgidFile };
}

describe('checkBuildUserns', () => {
  it('refuses to start without the range delegated to root, naming /etc/subuid and the fix', async () => {
    const h = await host('');
    const p = checkBuildUserns(h.config, { ...h, subuidFile: '/nonexistent/subuid' });
    await expect(p).rejects.toBeInstanceOf(BuildUsernsUnavailableError);
    await expect(p).rejects.toThrow(
      /WORKER_BUILD_SUBID_BASE=100000: \/nonexistent\/subuid cannot be read \(ENOENT\).*\/etc\/subuid and \/etc\/subgid/,
    );
    await expect(checkBuildUserns(h.config, h)).rejects.toThrow(
      /subuid has no line 'root:100000:65536'.*scripts\/system-deps\.sh/,
    );
  });

  it('refuses a range shared with another user', async () => {
    const h = await host('root:100000:65536\nalice:100000:65536\n');
    await expect(checkBuildUserns(h.config, h)).rejects.toThrow(
      /subuid:2 delegates 100000-165535 to 'alice'/,
    );
  });

  it.skipIf(!isRoot() || !hasCommand('sh', ['-c', 'command -v newuidmap']))(
    "makes the work dir enterable by the range's root only, or names the directory in the way",
    async () => {
      const h = await host('root:100000:65536\n');
      await checkBuildUserns(h.config, h);
      const st = await stat(h.config.workDir);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 100000, 0o710]);
      // Below a directory the range's root cannot search, no build could bind its root.
      const closed = join(tmp.path, 'closed');
      await mkdir(closed, { mode: 0o700 });
      const p = checkBuildUserns({ ...h.config, workDir: join(closed, 'work') }, h);
      await expect(p).rejects.toThrow(
        new RegExp(`WORKER_WORK_DIR=${closed}/work: ${closed} cannot be entered .*host uid 100000`),
      );
    },
  );
});
