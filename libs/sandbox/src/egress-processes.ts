/**
 * Finding slirp4netns processes by the label egress.ts gives them ({@link EGRESS_LABEL_VAR} in
 * their environment): leak checks after a build or job, and operators' diagnostics. Reading
 * another process's environment needs root (or the same uid).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { EGRESS_LABEL_VAR } from './egress.js';

export interface EgressProcess {
  pid: number;
  /** {@link EGRESS_LABEL_VAR}'s value ('' when started without a label). */
  label: string;
}

/**
 * Live slirp4netns processes started by egress.ts (zombies count as gone); with `label`, only
 * those labelled so.
 */
export function egressProcesses(label?: string): EgressProcess[] {
  const prefix = `${EGRESS_LABEL_VAR}=`;
  const out: EgressProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (!stat.includes('(slirp4netns)') || state === 'Z') continue;
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      const found = env.find((e) => e.startsWith(prefix));
      if (found === undefined) continue;
      const l = found.slice(prefix.length);
      if (label === undefined || l === label) out.push({ pid: Number(name), label: l });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return out;
}
