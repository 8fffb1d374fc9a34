/**
 * Which command modules a command line needs. The words after the leading options are matched
 * against the command paths as far as they go: `job run …` needs the module of `job run`,
 * `job --help` (or `help job`) every module with a command under `job`, and a line that names
 * no group (`--version`, `--help`, nothing, an unknown word) none — the groups alone make the
 * top-level help and commander's "unknown command" answer. A module that `loadsAll` (shell
 * completion, made from the whole tree) brings every module with it.
 */
import type { CommandModule } from './command-table.js';

/** Leading program options that take a value (`--server URL`). */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set(['--server']);

/** Index of the first word after the leading program options. */
export function firstWordIndex(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    i += VALUE_OPTIONS.has(argv[i]!) ? 2 : 1;
  }
  return i;
}

export function selectModules(
  argv: readonly string[],
  table: readonly CommandModule[],
): CommandModule[] {
  let words = argv.slice(firstWordIndex(argv));
  // commander's own `help <command…>` shows the help of the words after it.
  if (words[0] === 'help') words = words.slice(1);
  const under = (prefix: readonly string[]) => (path: string) => {
    const p = path.split(' ');
    return prefix.every((w, k) => p[k] === w);
  };
  let prefix: string[] = [];
  for (const word of words) {
    const longer = [...prefix, word];
    if (!table.some((m) => m.paths.some(under(longer)))) break;
    prefix = longer;
  }
  if (prefix.length === 0) return [];
  const selected = table.filter((m) => m.paths.some(under(prefix)));
  return selected.some((m) => m.loadsAll) ? [...table] : selected;
}
