/**
 * The CPUs this agent may pin jobs to (`--cpu-cores`), for the heartbeat: its own
 * `Cpus_allowed_list` (a cgroup cpuset or `taskset` narrows it; job cgroups are made under it).
 */
import { readFile } from 'node:fs/promises';
import { formatCpuList, parseCpuList } from '@joblet/spec';

/** The CPU list (`0-1`), or undefined when /proc does not say. */
export async function allowedCpus(statusFile = '/proc/self/status'): Promise<string | undefined> {
  const text = await readFile(statusFile, 'utf8');
  const line = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(text)?.[1];
  const cpus = line === undefined ? undefined : parseCpuList(line);
  return cpus && cpus.length > 0 ? formatCpuList(cpus) : undefined;
}
