/**
 * The `rnx` command tree. Each command defines itself in `commands/` (its flags, help and action,
 * next to its testable function); this file only lists them, in the order help shows them, and
 * gives the groups they sit in a description.
 */
import { Command } from 'commander';
import { ApiClient } from './api-client.js';
import type { CliContext, CommandDef, RunState } from './command.js';
import * as adminCerts from './commands/admin-certs.js';
import * as adminSigningKey from './commands/admin-signing-key.js';
import * as buildRead from './commands/build-read.js';
import * as farm from './commands/farm.js';
import * as job from './commands/job.js';
import * as jobRead from './commands/job-read.js';
import * as runtimeBuild from './commands/runtime-build.js';
import * as runtimeGc from './commands/runtime-gc.js';
import * as runtimeManage from './commands/runtime-manage.js';
import * as runtimePin from './commands/runtime-pin.js';
import * as runtimeRead from './commands/runtime-read.js';
import * as runtimeValidate from './commands/runtime-validate.js';
import * as token from './commands/token.js';
import * as volume from './commands/volume.js';
import * as network from './commands/network.js';
import { resolveServer, resolveServerOrLocal } from './config.js';
import type { CliEnv } from './env.js';
import { readFarmState } from './farm/farm-state.js';
import type { Io } from './io.js';

export type { RunState } from './command.js';

export const CLI_VERSION = '0.1.0';

/** Every command, in help order (`node list` comes with the runtime read commands). */
export const COMMANDS: readonly CommandDef[] = [
  runtimeValidate,
  runtimeBuild,
  runtimeRead,
  runtimeManage,
  runtimePin,
  runtimeGc,
  job,
  jobRead,
  volume,
  network,
  buildRead,
  token,
  adminCerts,
  adminSigningKey,
  farm,
].flatMap((m) => m.commands);

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
};

export function buildProgram(env: CliEnv, io: Io, state: RunState): Command {
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

  const flag = () => program.opts<{ server?: string }>().server;
  const ctx: CliContext = {
    env,
    io,
    state,
    server: () => resolveServer(env, flag()),
    client: () =>
      new ApiClient(resolveServerOrLocal(env, flag(), readFarmState(env.JOBLET_FARM_DIR)?.apiUrl)),
    interactive: Boolean(process.stdin.isTTY),
  };
  for (const def of COMMANDS) {
    // `admin certs init`: the groups `admin` and `admin certs` are made by the first command in them.
    const words = def.path.split(' ');
    let parent = program;
    for (const [i, name] of words.slice(0, -1).entries()) {
      parent =
        parent.commands.find((c) => c.name() === name) ??
        parent.command(name).description(GROUPS[words.slice(0, i + 1).join(' ')] ?? '');
    }
    def.define(parent.command(words.at(-1)!, { hidden: def.hidden }), ctx);
  }
  return program;
}
