/**
 * `rnx farm up --dir DIR`: jobs run as an unprivileged user and rootless builds as a shifted uid,
 * and both must enter DIR (its `jobs/` and `work/`). A DIR that others cannot search (e.g.
 * `mktemp -d`, mode 0700) would start fine and then fail every job with a misleading bwrap error,
 * so it is refused at start, naming the directory and the fix.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CliError } from '../errors.js';

/** Throws naming the first of `dir` and its existing ancestors that others cannot enter. */
export function checkFarmDirTraversable(dir: string): void {
  for (let p = resolve(dir); ; p = dirname(p)) {
    const st = statSync(p, { throwIfNoEntry: false });
    // Not there yet: `farm up` creates it 0755; its parents are checked on the way up.
    if (st && (st.mode & 0o001) === 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new CliError(
        `farm directory ${resolve(dir)} cannot be used: ${p} is mode ${mode}, so the farm's job user and build sandboxes cannot enter it; run chmod o+x ${p}, or choose another --dir`,
      );
    }
    if (p === dirname(p)) return;
  }
}
