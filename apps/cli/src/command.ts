/**
 * How a command plugs into `rnx`: each `commands/*.ts` exports `commands`, a list of
 * {@link CommandDef}s — the command's place in the tree, its flags and help, and an action that
 * calls the command's testable function and reports its exit code. `program.ts` only lists them.
 */
import type { Command } from 'commander';
import type { ApiClient } from './api-client.js';
import type { ServerConfig } from './config.js';
import type { CliEnv } from './env.js';
import type { Io } from './io.js';

/** Commands report their exit code here; commander itself only parses. */
export interface RunState {
  exitCode: number;
}

/** What a command's action may use. */
export interface CliContext {
  env: CliEnv;
  io: Io;
  state: RunState;
  /** The configured server (`--server`, RNX_SERVER, the config file), if any. */
  server: () => ServerConfig | undefined;
  /** A client for the configured server, else for the farm `rnx farm up` started. */
  client: () => ApiClient;
  /** Whether stdin is a terminal (confirmations, live progress). */
  interactive: boolean;
}

export interface CommandDef {
  /** Its words after `rnx`: `runtime validate`, `admin certs init`. */
  path: string;
  /** Left out of the help (internal commands). */
  hidden?: boolean;
  /** Adds the description, arguments, options and action to `cmd` (already named). */
  define: (cmd: Command, ctx: CliContext) => void;
}
