/** Bundles dist/ (index.js and build-child.js) before any test starts a build child. */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const appDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
  execFileSync(process.execPath, ['../../scripts/build-app.mjs'], {
    cwd: appDir,
    stdio: 'inherit',
  });
}
