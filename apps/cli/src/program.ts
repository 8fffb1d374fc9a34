/**
 * The `rnx` command tree. Each command defines itself in `commands/` (its flags, help and action,
 * next to its testable function); command-table.ts lists them in the order help shows them. This
 * file makes the groups they sit in (all of them, from the table's paths, so the top-level help
 * needs no command module) and adds the commands that were loaded for this command line.
 */
import { Command } from 'commander';
import type { CliContext, CommandDef } from './command.js';
import { COMMAND_PATHS } from './command-table.js';
import type { Io } from './io.js';

export type { RunState } from './command.js';

export const CLI_VERSION = '0.1.0';

/** What `rnx <group> --help` says about each group of commands. */
const GROUPS: Record<string, string> = {
  runtime: 'build, inspect and manage runtimes',
  node: 'execution nodes',
  job: 'run commands in runtimes on execution nodes',
  volume: 'named persistent directories on a node',
  network: 'job networks: jobs of one network reach each other, and no other network',
  build: 'inspect builds',
  token: 'API tokens for CI and scripts (admin)',
  admin: 'farm administration',
  'admin certs': 'certificates for mTLS',
  'admin signing-key': 'keys that sign artifact manifests (agents install only signed artifacts)',
  farm: 'run the whole farm on this machine',
  completion: 'shell completion scripts (bash, zsh, fish)',
};

/** The commands loaded for this run and how to make their context. */
export interface LoadedCommands {
  defs: readonly CommandDef[];
  /** Called once, with a reader of the parsed `--server`. */
  context: (serverFlag: () => string | undefined) => CliContext;
}

export function buildProgram(io: Io, loaded?: LoadedCommands): Command {
  const program = new Command('rnx')
    .description('Joblet Runtime Farm: build runtimes for every architecture and run jobs in them')
    .version(CLI_VERSION)
    .option(
      '--server <url>',
      'API server: a URL or host:port (default: RNX_SERVER, ~/.rnx/rnx-config.yml, then the local farm)',
    )
    // Never parsed here: index.ts moves it after the command's words (global-json.ts).
    .option('--json', 'JSON output, for the commands that print data (also after the command)')
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  // `admin certs init`: the groups `admin` and `admin certs` are made in the order of the table.
  const groupOf = (path: string): Command => {
    const words = path.split(' ');
    let parent = program;
    for (const [i, name] of words.slice(0, -1).entries()) {
      parent =
        parent.commands.find((c) => c.name() === name) ??
        parent.command(name).description(GROUPS[words.slice(0, i + 1).join(' ')] ?? '');
    }
    return parent;
  };
  for (const path of COMMAND_PATHS) groupOf(path);
  if (!loaded) return program;

  const ctx = loaded.context(() => program.opts<{ server?: string }>().server);
  for (const def of loaded.defs) {
    const name = def.path.split(' ').at(-1)!;
    def.define(groupOf(def.path).command(name, { hidden: def.hidden }), ctx);
  }
  return program;
}
