/**
 * Start-up check of rootless builds: build sandboxes run as root of a user namespace whose ids
 * are the host range WORKER_BUILD_SUBID_BASE…+65535 (@joblet/sandbox userns.ts). A worker that
 * cannot make that namespace must refuse to start, naming /etc/subuid, rather than fail every
 * build — or run hooks as real root. It also prepares WORKER_WORK_DIR for it: the sandbox's
 * bwrap runs as the range's root and must be able to enter the work dir to bind a build's root
 * (root:<base> 0710: the range's root may pass through, list nothing; other users get nothing).
 */
import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hasCommand, subidProblem, type IdRange } from '@joblet/sandbox';
import type { WorkerConfig } from '../env.js';

/** Rootless builds cannot run on this host as configured (exit 78). */
export class BuildUsernsUnavailableError extends Error {
  override readonly name = 'BuildUsernsUnavailableError';
}

export interface BuildUsernsCheckOptions {
  /** Where the delegations are read (tests). Default /etc/subuid and /etc/subgid. */
  subuidFile?: string;
  subgidFile?: string;
}

const HOW =
  'Rootless builds need it: add the line to /etc/subuid and /etc/subgid (scripts/system-deps.sh ' +
  'does), or set WORKER_BUILD_SUBID_BASE to the first id of a range delegated to root only.';

/** Why the range's root cannot enter `dir` (an ancestor it cannot search), or undefined. */
async function unreachable(dir: string, ids: IdRange): Promise<string | undefined> {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = await stat(d);
    const x = st.uid === ids.first ? 0o100 : st.gid === ids.first ? 0o010 : 0o001;
    if ((st.mode & x) === 0) return d;
    if (d === '/') return undefined;
  }
}

/**
 * Checks that builds can run rootless with `config.buildSubids`, and makes WORKER_WORK_DIR
 * enterable by the range's root.
 * @throws BuildUsernsUnavailableError naming the file or directory to fix.
 */
export async function checkBuildUserns(
  config: Pick<WorkerConfig, 'buildSubids' | 'workDir'>,
  opts: BuildUsernsCheckOptions = {},
): Promise<void> {
  const ids = config.buildSubids;
  const range = `WORKER_BUILD_SUBID_BASE=${ids.first}`;
  for (const file of [opts.subuidFile ?? '/etc/subuid', opts.subgidFile ?? '/etc/subgid']) {
    const problem = subidProblem(file, ids);
    if (problem) throw new BuildUsernsUnavailableError(`${range}: ${problem}. ${HOW}`);
  }
  if (!hasCommand('sh', ['-c', 'command -v newuidmap && command -v newgidmap'])) {
    throw new BuildUsernsUnavailableError(
      `${range}: newuidmap and newgidmap are missing: apt-get install uidmap`,
    );
  }
  await mkdir(config.workDir, { recursive: true, mode: 0o700 });
  const blocked = await unreachable(config.workDir, ids);
  if (blocked) {
    throw new BuildUsernsUnavailableError(
      `WORKER_WORK_DIR=${config.workDir}: ${blocked} cannot be entered by the build sandboxes' ` +
        `root (host uid ${ids.first}); make it searchable (chmod o+x) or move the work dir`,
    );
  }
  await chown(config.workDir, 0, ids.first);
  await chmod(config.workDir, 0o710);
}
