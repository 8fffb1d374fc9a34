/**
 * Every `rnx` command's words, by the module that defines it, in help order — and how to load
 * that module. `rnx` loads only the modules the command line names (see command-select.ts): a
 * module pulls in what its commands need (zod and the API schemas, yaml, ioredis, the PKI), and
 * loading all of them cost `rnx --version` several times a bare `node` start. The paths are
 * written here so that the tree of groups and the help can be made without loading anything;
 * `command-table.test.ts` checks them against what each module defines.
 */
import type { CommandDef } from './command.js';

export interface CommandModule {
  /** The words after `rnx` of each command the module defines, in its order. */
  paths: readonly string[];
  load: () => Promise<{ commands: readonly CommandDef[] }>;
  /** Its commands need the whole tree (shell completion): every module is loaded with it. */
  loadsAll?: boolean;
}

/** In help order (`node list` comes with the runtime read commands). */
export const COMMAND_TABLE: readonly CommandModule[] = [
  { paths: ['runtime validate'], load: () => import('./commands/runtime-validate.js') },
  { paths: ['runtime build'], load: () => import('./commands/runtime-build.js') },
  {
    paths: ['runtime list', 'runtime info', 'node list'],
    load: () => import('./commands/runtime-read.js'),
  },
  {
    paths: ['runtime sbom', 'runtime provenance'],
    load: () => import('./commands/runtime-attest.js'),
  },
  {
    paths: ['node cordon', 'node uncordon', 'node drain', 'node remove'],
    load: () => import('./commands/node-manage.js'),
  },
  { paths: ['node join'], load: () => import('./commands/node-join.js') },
  { paths: ['runtime test', 'runtime remove'], load: () => import('./commands/runtime-manage.js') },
  { paths: ['runtime pin', 'runtime unpin'], load: () => import('./commands/runtime-pin.js') },
  { paths: ['runtime gc'], load: () => import('./commands/runtime-gc.js') },
  {
    paths: ['job run', 'job log', 'job stop', 'job cancel'],
    load: () => import('./commands/job.js'),
  },
  { paths: ['job list', 'job status'], load: () => import('./commands/job-read.js') },
  {
    paths: ['volume create', 'volume list', 'volume remove'],
    load: () => import('./commands/volume.js'),
  },
  {
    paths: ['network create', 'network list', 'network remove'],
    load: () => import('./commands/network.js'),
  },
  {
    paths: ['build list', 'build status', 'build logs', 'build cancel'],
    load: () => import('./commands/build-read.js'),
  },
  {
    paths: ['token create', 'token list', 'token revoke'],
    load: () => import('./commands/token.js'),
  },
  { paths: ['admin certs init'], load: () => import('./commands/admin-certs.js') },
  { paths: ['admin signing-key init'], load: () => import('./commands/admin-signing-key.js') },
  {
    paths: ['farm up', 'farm down', 'farm status', 'farm supervise'],
    load: () => import('./commands/farm.js'),
  },
  {
    paths: ['completion bash', 'completion zsh', 'completion fish'],
    loadsAll: true,
    load: () => import('./commands/completion.js'),
  },
];

/** Every command's words, in help order. */
export const COMMAND_PATHS: readonly string[] = COMMAND_TABLE.flatMap((m) => m.paths);
