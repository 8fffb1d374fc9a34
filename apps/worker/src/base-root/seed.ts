/**
 * Seeds the base-root cache before anything needs it: `tsx apps/worker/src/base-root/seed.ts
 * [suite] [arch]` (default bookworm amd64) builds the debootstrap root once per machine into
 * DEFAULT_CACHE_DIR, exactly as a build would. The test command runs it first, so the agent's
 * tests, which run jobs in that root, find it on a fresh machine instead of skipping.
 */
import { ensureBaseRoot } from './rootfs.js';

const [suite = 'bookworm', arch = 'amd64'] = process.argv.slice(2);
if (arch !== 'amd64' && arch !== 'arm64') {
  process.stderr.write(`seed: arch must be amd64 or arm64, not '${arch}'\n`);
  process.exit(2);
}
const root = await ensureBaseRoot({ suite, arch });
process.stdout.write(
  `base root ${suite}/${arch}: ${root.cached ? 'cached' : 'built'} at ${root.dir}\n`,
);
