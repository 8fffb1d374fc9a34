/**
 * What a loaded command's action may use (see {@link CliContext}). Loaded only with a command:
 * reading the environment, the config file and the farm's state needs zod and yaml, which
 * `rnx --version` and the top-level help do without.
 */
import { ApiClient } from './api-client.js';
import type { CliContext, RunState } from './command.js';
import { resolveServer, resolveServerOrLocal } from './config.js';
import { readCliEnv } from './env.js';
import { readFarmState } from './farm/farm-state.js';
import type { Io } from './io.js';

/** The context of this run; `serverFlag` reads `--server` once commander has parsed it. */
export function createContext(
  io: Io,
  state: RunState,
  serverFlag: () => string | undefined,
): CliContext {
  const env = readCliEnv();
  return {
    env,
    io,
    state,
    server: () => resolveServer(env, serverFlag()),
    client: () =>
      new ApiClient(
        resolveServerOrLocal(env, serverFlag(), readFarmState(env.JOBLET_FARM_DIR)?.apiUrl),
      ),
    interactive: Boolean(process.stdin.isTTY),
  };
}
