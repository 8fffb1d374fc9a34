/**
 * `rnx completion bash|zsh|fish`: a completion script for the shell, made from the command tree
 * (the command table loads every module for these commands, so the tree is whole), printed on
 * stdout to be sourced or saved.
 */
import type { Command } from 'commander';
import { bashCompletion } from '../completion/bash.js';
import { fishCompletion } from '../completion/fish.js';
import { completionTree, type CompletionNode } from '../completion/tree.js';
import { zshCompletion } from '../completion/zsh.js';
import { EXIT } from '../exit-codes.js';
import type { CommandDef } from '../command.js';

const SHELLS: Record<string, { make: (root: CompletionNode) => string; how: string }> = {
  bash: { make: bashCompletion, how: 'source <(rnx completion bash)' },
  zsh: { make: zshCompletion, how: 'source <(rnx completion zsh)' },
  fish: { make: fishCompletion, how: 'rnx completion fish > ~/.config/fish/completions/rnx.fish' },
};

function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

export const commands: readonly CommandDef[] = Object.entries(SHELLS).map(
  ([shell, { make, how }]): CommandDef => ({
    path: `completion ${shell}`,
    define: (cmd, { io, state }) =>
      cmd.description(`the ${shell} completion script; load it with: ${how}`).action(() => {
        io.out(make(completionTree(root(cmd))).trimEnd());
        state.exitCode = EXIT.OK;
      }),
  }),
);
