/**
 * What the hostile suites share: TCP probes a job or build hook runs against the farm's services,
 * a look at the host's processes, and the rules an installed runtime tree must keep.
 */
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sandboxReachableHost } from '@joblet/testkit';
import type { Farm } from './farm-fixture.js';

/** Prints `name=open` or `name=closed` for a TCP connect within 3 s. */
export const probe = (name: string, host: string, port: number): string =>
  `if timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; then echo ${name}=open; else echo ${name}=closed; fi`;

/**
 * A script probing Redis, the API, the store, the host's services and the metadata address.
 * `hostService`: a service listening on the host's own non-loopback address (default the farm's
 * pip index, which jobs are never allowed; builds are — it is their package source).
 */
export function farmProbes(farm: Farm, hostService?: { host: string; port: number }): string {
  const api = new URL(farm.url);
  const store = new URL(farm.s3.url(farm.bucket));
  const pip = new URL(farm.pip.url);
  const service = hostService ?? { host: pip.hostname, port: Number(pip.port) };
  return [
    probe('redis', '127.0.0.1', 6379),
    probe('api', '127.0.0.1', Number(api.port)),
    probe('store', store.hostname, Number(store.port)),
    probe('host-redis', sandboxReachableHost(), 6379),
    probe('host-service', service.host, service.port),
    probe('metadata', '169.254.169.254', 80),
  ].join('\n');
}

export const ALL_CLOSED = ['redis', 'api', 'store', 'host-redis', 'host-service', 'metadata'].map(
  (n) => `${n}=closed`,
);

/**
 * Host processes whose command line contains `marker` (`exact`: that are `sleep <marker>`; the
 * wrappers — bwrap, the job's bash — carry the marker in their arguments too).
 */
export function hostProcesses(marker: string, exact = false): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return exact ? cmd === `sleep\0${marker}\0` : cmd.includes(marker);
      } catch {
        return false;
      }
    });
}

/**
 * Entries of an installed runtime tree that break its rules: not owned by 0:0, writable by
 * others, setuid or setgid (symlinks' own modes mean nothing). `path mode uid:gid` each.
 */
export function treeViolations(dir: string): string[] {
  const bad: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(d.parentPath, d.name);
    const st = lstatSync(path);
    const wrongMode = !st.isSymbolicLink() && (st.mode & 0o6002) !== 0;
    if (wrongMode || st.uid !== 0 || st.gid !== 0) {
      bad.push(`${path} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
    }
  }
  return bad;
}
