/** The `rnx` command tree. Each command's work lives in `commands/`; this file only wires flags. */
import { Command, Option } from 'commander';
import { runtimeValidate } from './commands/runtime-validate.js';
import { resolveServer } from './config.js';
import type { CliEnv } from './env.js';
import type { Io } from './io.js';

export const CLI_VERSION = '0.1.0';

/** Commands report their exit code here; commander itself only parses. */
export interface RunState {
  exitCode: number;
}

export function buildProgram(env: CliEnv, io: Io, state: RunState): Command {
  const program = new Command('rnx')
    .description('Joblet Runtime Farm: build runtimes for every architecture and run jobs in them')
    .version(CLI_VERSION)
    .option('--server <url>', 'API server URL (default: RNX_SERVER, then ~/.rnx/rnx-config.yml)')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  const server = () => resolveServer(env, program.opts<{ server?: string }>().server);

  const runtime = program.command('runtime').description('build, inspect and manage runtimes');
  runtime
    .command('validate')
    .description('validate a runtime.yaml (offline; also server-side when a server is configured)')
    .argument('<file-or-dir>', 'a runtime.yaml, or a directory holding runtime.yaml / runtime.yml')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--offline', 'do not ask the server even when one is configured'))
    .action(async (target: string, opts: { json?: boolean; offline?: boolean }) => {
      state.exitCode = await runtimeValidate(
        target,
        { ...opts, server: opts.offline ? undefined : server() },
        io,
      );
    });

  return program;
}
