/**
 * `rnx admin signing-key init`: a new Ed25519 key pair for signing artifact manifests, and how to
 * roll it out. Rotation: give the agents the new public key (next to the old one) first, then
 * switch the publishing workers to the new private key, then drop the old public key.
 */
import { shortKeyId } from '@joblet/artifact';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { writeKeyPairFiles } from '../signing/key-pair-files.js';
import type { CommandDef } from '../command.js';

export interface SigningKeyInitOptions {
  out: string;
  name: string;
  force?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function adminSigningKeyInit(o: SigningKeyInitOptions, io: Io): number {
  if (!NAME.test(o.name)) {
    throw new UsageError('--name: letters, digits, ".", "_" and "-" (at most 64)');
  }
  const r = (() => {
    try {
      return writeKeyPairFiles(o.out, o.name, o.force);
    } catch (err) {
      throw new UsageError(
        `${(err as Error).message}; use --force to replace it, or another --name`,
      );
    }
  })();
  io.out(`${paint(io, 'green', '✓')} signing key ${shortKeyId(r.keyId)} in ${o.out}`);
  io.out(`  key id        ${r.keyId}`);
  io.out(`  private key   ${r.privateKeyFile}   (publishing workers only; keep it 0600)`);
  io.out(`  public key    ${r.publicKeyFile}   (every agent)`);
  io.out('');
  io.out('Publishing workers (WORKER_PUBLISH=true):');
  io.out(`  WORKER_SIGNING_KEY_FILE=${r.privateKeyFile}`);
  io.out('Agents (comma-separated; keep the current key listed during a rotation):');
  io.out(`  AGENT_TRUSTED_KEYS=<current.pub.pem>,${r.publicKeyFile}`);
  io.out('');
  io.out('Rotation: 1. add the public key to every agent, 2. switch the publishers to the private');
  io.out('key, 3. once nothing signed only by the old key is needed, drop it from the agents.');
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'admin signing-key init',
    define: (cmd, { io, state }) =>
      cmd
        .description(
          'create an Ed25519 key pair: <name>.pem (publishers) and <name>.pub.pem (agents)',
        )
        .requiredOption('--out <dir>', 'where to write them')
        .option('--name <name>', 'file name of the pair', 'signing')
        .option('--force', 'replace an existing pair of that name')
        .action((o: { out: string; name: string; force?: boolean }) => {
          state.exitCode = adminSigningKeyInit(o, io);
        }),
  },
];
