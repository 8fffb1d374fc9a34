/**
 * The command tree as completion scripts need it, read from the commander program that every
 * module of the command table defined (`rnx completion …` loads them all): each node's words,
 * its visible subcommands and options (and the values an option accepts, when it names them).
 */
import type { Command } from 'commander';

export interface CompletionOption {
  flags: string[];
  description: string;
  /** Takes a value (`--server <url>`): the next word is that value. */
  takesValue: boolean;
  /** The values it accepts, when they are a fixed list (`-o json|yaml|wide`). */
  choices?: string[];
}

export interface CompletionNode {
  /** The words after `rnx` that name it; empty for `rnx` itself. */
  path: string[];
  description: string;
  children: CompletionNode[];
  options: CompletionOption[];
}

export function completionTree(cmd: Command, path: string[] = []): CompletionNode {
  const help = cmd.createHelp();
  return {
    path,
    description: cmd.description(),
    children: help
      .visibleCommands(cmd)
      .filter((c) => c.name() !== 'help')
      .map((c) => completionTree(c, [...path, c.name()])),
    options: help.visibleOptions(cmd).map((o) => ({
      flags: [o.short, o.long].filter((f): f is string => f !== undefined),
      description: o.description,
      takesValue: o.required || o.optional,
      ...(o.argChoices && { choices: o.argChoices }),
    })),
  };
}

/** Every node of the tree, parents before their children. */
export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.children.flatMap(allNodes)];
}

/** `s` as one single-quoted word for sh, bash, zsh and fish. */
export function quoted(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
