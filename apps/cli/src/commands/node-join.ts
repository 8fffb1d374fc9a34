/**
 * `rnx node join <name> [--arch A] [--out DIR]`, run as root on the farm's machine: writes what a
 * new node needs (its agent's environment with a Redis user of its own, the farm's public
 * signing key) and says how to install it (farm/node-join.ts).
 */
import { Option } from 'commander';
import { ARCHITECTURES, type Arch } from '@joblet/spec';
import type { CommandDef } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { paint } from '../io.js';
import { joinNode } from '../farm/node-join.js';
import { hostArch } from './farm.js';

export const commands: readonly CommandDef[] = [
  {
    path: 'node join',
    define: (cmd, { env, io, state }) =>
      cmd
        .description("write a new node's agent settings, with a Redis user of its own")
        .argument('<name>', 'the new node’s name')
        .addOption(new Option('--arch <arch>', 'its architecture').choices(ARCHITECTURES))
        .option(
          '--out <dir>',
          'where to write agent.env and farm.pub.pem (default ./joblet-node-NAME)',
        )
        .addOption(
          new Option('--dir <path>', 'the farm’s state directory').default(env.JOBLET_FARM_DIR),
        )
        .action(async (name: string, o: { arch?: Arch; out?: string; dir: string }) => {
          const out = o.out ?? `joblet-node-${name}`;
          const r = await joinNode({ name, arch: o.arch ?? hostArch(), dir: o.dir, out });
          for (const w of r.warnings) io.err(`${paint(io, 'yellow', '!')} ${w}`);
          io.out(`${paint(io, 'green', '✓')} node ${name} may join as Redis user ${r.user}`);
          for (const f of r.files) io.out(`  ${f}`);
          io.out('On the new node, as root, with the farm installed under /opt/joblet-farm:');
          io.out(`  install -d -m 0700 /etc/joblet-farm && cp ${out}/* /etc/joblet-farm/`);
          io.out('  systemctl enable --now joblet-agent   # infra/systemd/joblet-agent.service');
          io.out(`Refuse it later with: rnx node remove ${name} (deletes ${r.user})`);
          state.exitCode = EXIT.OK;
        }),
  },
];
