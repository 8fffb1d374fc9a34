/**
 * Joblet's `rnx` takes `--json` anywhere, also before the command (`rnx --json job list`). Ours is
 * an option of each command that prints data, so a leading `--json` is moved to just after the
 * command's words — never to the end, where `job run` would hand it to the job as an argument.
 * A command without JSON output then says so as for any unknown option.
 */
import { VALUE_OPTIONS } from './command-select.js';

/** `argv` with a leading `--json` moved after the words of the command in `paths` it names. */
export function moveLeadingJson(argv: readonly string[], paths: readonly string[]): string[] {
  const out = [...argv];
  let i = 0;
  let json = false;
  while (i < out.length && out[i]!.startsWith('-') && out[i] !== '--') {
    if (out[i] === '--json') {
      out.splice(i, 1);
      json = true;
    } else i += VALUE_OPTIONS.has(out[i]!) ? 2 : 1;
  }
  if (!json) return out;
  const matches = paths
    .map((p) => p.split(' '))
    .filter((w) => w.every((word, k) => out[i + k] === word))
    .sort((a, b) => b.length - a.length);
  const at = i + (matches[0]?.length ?? 0);
  out.splice(at, 0, '--json');
  return out;
}
