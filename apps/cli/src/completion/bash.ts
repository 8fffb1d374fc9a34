/**
 * `rnx completion bash`: a completion function made from the command tree. The command words
 * typed so far are matched against the tree as far as they go (`rnx job run --runtime=py echo`
 * is at `job run`); then after an option that takes a value, its fixed values (or file names);
 * the options of that command after a
 * `-`, its subcommands otherwise — and file names (`complete -o default`) when it has none.
 */
import { allNodes, quoted, type CompletionNode } from './tree.js';

/** `case "$1" in 'a b') echo '…';; esac`, one branch per node with something to offer. */
function caseOf(arms: [string, string][], subject = '"$1"'): string[] {
  return [
    `  case ${subject} in`,
    ...arms.filter(([, v]) => v !== '').map(([k, v]) => `    ${quoted(k)}) echo ${quoted(v)} ;;`),
    '  esac',
  ];
}

export function bashCompletion(root: CompletionNode): string {
  const nodes = allNodes(root);
  const key = (n: CompletionNode) => n.path.join(' ');
  const choices = nodes.flatMap((n) =>
    n.options.flatMap((o) =>
      o.choices
        ? o.flags.map((f): [string, string] => [`${key(n)}|${f}`, o.choices!.join(' ')])
        : [],
    ),
  );
  return [
    '# bash completion for rnx (made by `rnx completion bash`). Load it in this shell with',
    '#   source <(rnx completion bash)',
    '# or for every shell: rnx completion bash > /etc/bash_completion.d/rnx',
    '_rnx_children() {',
    ...caseOf(nodes.map((n) => [key(n), n.children.map((c) => c.path.at(-1)!).join(' ')])),
    '}',
    '_rnx_options() {',
    ...caseOf(nodes.map((n) => [key(n), n.options.flatMap((o) => o.flags).join(' ')])),
    '}',
    '_rnx_valued() {',
    ...caseOf(
      nodes.map((n) => [key(n), n.options.flatMap((o) => (o.takesValue ? o.flags : [])).join(' ')]),
    ),
    '}',
    '_rnx_choices() {',
    ...caseOf(choices, '"$1|$2"'),
    '}',
    '_rnx() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  local path="" next i offer',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    next="${path:+$path }${COMP_WORDS[i]}"',
    '    case " $(_rnx_children "$path") " in *" ${COMP_WORDS[i]} "*) path="$next" ;; esac',
    '  done',
    '  COMPREPLY=()',
    '  # After an option that takes a value: its fixed values, else file names (-o default).',
    '  case " $(_rnx_valued "$path") " in',
    '    *" $prev "*) offer="$(_rnx_choices "$path" "$prev")" ;;',
    '    *) if [[ $cur == -* ]]; then offer="$(_rnx_options "$path")"; else offer="$(_rnx_children "$path")"; fi ;;',
    '  esac',
    '  if [[ -n $offer ]]; then COMPREPLY=($(compgen -W "$offer" -- "$cur")); fi',
    '}',
    'complete -o default -F _rnx rnx',
    '',
  ].join('\n');
}
