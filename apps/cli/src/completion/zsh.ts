/**
 * `rnx completion zsh`: zsh runs the bash completion through its `bashcompinit` layer (as
 * kubectl's and az's zsh completions do), so both shells complete from one function.
 */
import { bashCompletion } from './bash.js';
import type { CompletionNode } from './tree.js';

export function zshCompletion(root: CompletionNode): string {
  return [
    '#compdef rnx',
    '# zsh completion for rnx (made by `rnx completion zsh`). Load it with',
    '#   source <(rnx completion zsh)',
    'autoload -U +X compinit && compinit',
    'autoload -U +X bashcompinit && bashcompinit',
    bashCompletion(root),
  ].join('\n');
}
