/**
 * `rnx completion fish`: `complete` rules made from the command tree, each guarded by the
 * command the words typed so far name (`__rnx_at 'runtime build'`), read as bash's script reads it.
 */
import { allNodes, quoted, type CompletionNode } from './tree.js';

export function fishCompletion(root: CompletionNode): string {
  const nodes = allNodes(root);
  const key = (n: CompletionNode) => n.path.join(' ');
  const lines = [
    '# fish completion for rnx (made by `rnx completion fish`). Install it with',
    '#   rnx completion fish > ~/.config/fish/completions/rnx.fish',
    'function __rnx_children',
    '    switch "$argv[1]"',
    ...nodes
      .filter((n) => n.children.length > 0)
      .flatMap((n) => [
        `        case ${quoted(key(n))}`,
        `            printf '%s\\n' ${n.children.map((c) => quoted(c.path.at(-1)!)).join(' ')}`,
      ]),
    '    end',
    'end',
    'function __rnx_at',
    '    set -l words (commandline -opc)',
    '    set -l path ""',
    '    for w in $words[2..-1]',
    '        if contains -- $w (__rnx_children "$path")',
    '            set path (string trim -- "$path $w")',
    '        end',
    '    end',
    '    test "$path" = "$argv[1]"',
    'end',
  ];
  for (const n of nodes) {
    const at = `-n ${quoted(`__rnx_at ${quoted(key(n))}`)}`;
    for (const c of n.children)
      lines.push(
        `complete -c rnx -f ${at} -a ${quoted(c.path.at(-1)!)} -d ${quoted(c.description)}`,
      );
    for (const o of n.options) {
      const flags = o.flags.map((f) =>
        f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`,
      );
      const value = o.choices ? ` -x -a ${quoted(o.choices.join(' '))}` : o.takesValue ? ' -r' : '';
      lines.push(`complete -c rnx ${at} ${flags.join(' ')}${value} -d ${quoted(o.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
