/**
 * Entry point of `rnx`: parse, run one command, and map every error to an exit code in one place.
 * Only the modules of the command named are loaded (command-select.ts): start-up is on the
 * critical path of every `rnx job run`.
 */
import { CommanderError } from 'commander';
import { selectModules } from './command-select.js';
import { COMMAND_PATHS, COMMAND_TABLE } from './command-table.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { processIo, paint, type Io } from './io.js';
import { moveLeadingJson } from './global-json.js';
import { buildProgram, type LoadedCommands, type RunState } from './program.js';

export { EXIT } from './exit-codes.js';

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const state: RunState = { exitCode: EXIT.OK };
  try {
    const program = buildProgram(io, await loadCommands(argv, io, state));
    await program.parseAsync(moveLeadingJson(argv, COMMAND_PATHS), { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander rejects is a usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof CliError) {
      io.err(`${paint(io, 'red', 'Error:')} ${err.message}`);
      return err.exitCode;
    }
    io.err(`${paint(io, 'red', 'Internal error:')} ${(err as Error).stack ?? String(err)}`);
    return EXIT.FAILED;
  }
}

/** The command modules `argv` names, loaded, and their context (which reads the environment). */
async function loadCommands(
  argv: readonly string[],
  io: Io,
  state: RunState,
): Promise<LoadedCommands | undefined> {
  const modules = selectModules(argv, COMMAND_TABLE);
  if (modules.length === 0) return undefined;
  const [{ createContext }, ...loaded] = await Promise.all([
    import('./context.js'),
    ...modules.map((m) => m.load()),
  ]);
  return {
    defs: loaded.flatMap((m) => m.commands),
    context: (serverFlag) => createContext(io, state, serverFlag),
  };
}
