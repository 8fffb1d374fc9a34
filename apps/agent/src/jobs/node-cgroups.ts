// The node's cgroups for jobs, found once when the runner starts: the manager given (tests), none
// when configured off or the agent is not root, else detected under `namespace`; `missing` says
// why there are none (jobs asking for limits are then refused with it).
import { CgroupManager, isRoot } from '@joblet/sandbox';

export async function detectJobCgroups(
  given: CgroupManager | null | undefined,
  namespace: string,
): Promise<{ cgroups?: CgroupManager; missing?: string }> {
  if (given === null) return { missing: 'disabled by configuration' };
  if (given) return { cgroups: given };
  if (!isRoot()) return { missing: 'the agent does not run as root' };
  try {
    return { cgroups: await CgroupManager.detect({ namespace }) };
  } catch (err) {
    return { missing: `cgroups could not be set up: ${(err as Error).message}` };
  }
}
