/**
 * CPU lists as the kernel writes them (`cpuset.cpus`, /sys/devices/system/cpu/online,
 * `Cpus_allowed_list` of /proc/PID/status) and as `--cpu-cores` takes them: `0-3,5`. The sandbox
 * writes them to cgroups; the API compares a job's with the CPUs its nodes report.
 */

/**
 * Parses a cpuset list (`'0-3,5'`, as in `cpuset.cpus` and /sys/devices/system/cpu/online) into
 * sorted unique CPU numbers. Returns undefined when malformed (reversed ranges included).
 */
export function parseCpuList(text: string): number[] | undefined {
  const t = text.trim();
  if (t === '') return [];
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part.trim());
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** Formats CPU numbers as the shortest cpuset list: `[0,1,2,5]` → `'0-2,5'`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
