/**
 * Entry point of `rnx`: parse, run one command, and map every error to an exit code in one place.
 */
import { CommanderError } from 'commander';
import { readCliEnv } from './env.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { processIo, paint, type Io } from './io.js';
import { moveLeadingJson } from './global-json.js';
import { COMMANDS, buildProgram, type RunState } from './program.js';

export { EXIT } from './exit-codes.js';

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const state: RunState = { exitCode: EXIT.OK };
  try {
    const env = readCliEnv();
    await buildProgram(env, io, state).parseAsync(moveLeadingJson(argv, COMMANDS), {
      from: 'user',
    });
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
