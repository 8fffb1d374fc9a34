/**
 * What a finished build may not leave behind: work dirs, mounts, cgroups, staging objects, and
 * slirp4netns processes of its isolated sandboxes (labelled with the build's cgroup name).
 */
import { readdir, readFile } from 'node:fs/promises';
import { CgroupManager, egressProcesses } from '@joblet/sandbox';
import { mountsUnder } from '@joblet/sandbox';
import { stagingPrefix, type ArtifactStore } from '@joblet/storage';
import { BUILD_CGROUP_NAMESPACE, buildCgroupName } from '../build/sandbox-setup.js';

export interface Leftovers {
  workDirs: string[];
  mounts: string[];
  cgroups: string[];
  staging: string[];
  slirp: string[];
}

export async function leftovers(o: {
  workDir: string;
  store: ArtifactStore;
  buildId: string;
}): Promise<Leftovers> {
  const workDirs = (await readdir(o.workDir).catch(() => [] as string[])).filter((n) =>
    n.includes(o.buildId),
  );
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = [
    ...(await mountsUnder(o.workDir)),
    ...mountinfo.split('\n').filter((l) => l.includes(o.buildId)),
  ];
  const cgroups: string[] = [];
  const manager = await CgroupManager.detect({ namespace: BUILD_CGROUP_NAMESPACE });
  const name = buildCgroupName(o.buildId, '');
  for (const dir of manager.namespaceDirs()) {
    for (const e of await readdir(dir).catch(() => [] as string[])) {
      if (e.startsWith(name)) cgroups.push(`${dir}/${e}`);
    }
  }
  const staging: string[] = [];
  for await (const obj of o.store.list(stagingPrefix(o.buildId))) staging.push(obj.key);
  const slirp = egressProcesses()
    .filter((p) => p.label.startsWith(name))
    .map((p) => `${p.pid} ${p.label}`);
  return { workDirs, mounts, cgroups, staging, slirp };
}

export const NOTHING_LEFT: Leftovers = {
  workDirs: [],
  mounts: [],
  cgroups: [],
  staging: [],
  slirp: [],
};
