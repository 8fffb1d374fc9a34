/**
 * Rootless sandboxes: a user namespace whose ids 0–65535 are an unprivileged range of host ids
 * delegated to root in /etc/subuid and /etc/subgid (`root:100000:65536`), as rootless BuildKit
 * and Podman run containers. "root" inside is host uid `first` outside: it owns only what lies
 * in its range, so apt, dpkg and `chown 1000:1000` work on the sandbox's own files while every
 * host file (owned by real root, unmapped inside) is just "nobody's" to it, and the
 * capabilities it keeps count over its own namespace only.
 *
 * The namespace is made by util-linux `unshare --user --map-users --map-groups` (newuidmap and
 * newgidmap from Debian's `uidmap` check the delegation), which then becomes uid 0 inside and
 * runs {@link USERNS_SCRIPT}: it caps the namespace's `user.max_user_namespaces` at 0 (the
 * sandbox cannot create nested user namespaces, with or without the seccomp filter, and without
 * CAP_SYS_RESOURCE cannot raise it again) and execs bwrap, which sets up the other namespaces
 * as root of this one. bwrap's own `--unshare-user`/`--disable-userns` map a single id, too few
 * for package managers; `--userns FD` cannot make uid 0 inside differ from the caller's.
 */
import { readFileSync } from 'node:fs';
import { SandboxError, SandboxErrorCode } from './errors.js';

/** Ids a rootless sandbox maps: 0–65535 inside, what Debian's packages use (nobody is 65534). */
export const SUBID_COUNT = 65536;

/** A range of host ids: `count` uids and gids from `first`. */
export interface IdRange {
  first: number;
  count: number;
}

/**
 * Run inside the new namespace as its root: no nested user namespaces, then the command. Exits
 * 125 (before the command runs) when the limit cannot be set. Nothing is interpolated into it.
 */
export const USERNS_SCRIPT =
  'echo 0 > /proc/sys/user/max_user_namespaces || ' +
  '{ echo "userns: cannot disable nested user namespaces" >&2; exit 125; }; ' +
  'exec "$@"';

/** `unshare … sh -c USERNS_SCRIPT … cmd args`: `cmd args` as root of a namespace mapping `ids`. */
export function usernsCommand(
  ids: IdRange,
  cmd: string,
  args: readonly string[],
): { cmd: string; args: string[] } {
  const map = `${ids.first},0,${ids.count}`;
  return {
    cmd: 'unshare',
    args: [
      '--user',
      `--map-users=${map}`,
      `--map-groups=${map}`,
      '--setuid',
      '0',
      '--setgid',
      '0',
      '--',
      'sh',
      '-c',
      USERNS_SCRIPT,
      'joblet-userns',
      cmd,
      ...args,
    ],
  };
}

/** Throws unless `ids` is a range a sandbox may be given (above every ordinary host id). */
export function checkIdRange(ids: IdRange): IdRange {
  const { first, count } = ids;
  if (!Number.isInteger(count) || count < SUBID_COUNT || count > 0x7fffffff) {
    throw new SandboxError(
      `a user namespace needs at least ${SUBID_COUNT} ids, got ${count}`,
      SandboxErrorCode.InvalidSpec,
    );
  }
  // Below 65536 lie the host's own users, nobody (65534, what jobs run as) and root.
  if (!Number.isInteger(first) || first < 65536 || first + count > 0xfffffffe) {
    throw new SandboxError(
      `invalid subordinate id range ${first}-${first + count - 1}: it must start at 65536 or above`,
      SandboxErrorCode.InvalidSpec,
    );
  }
  return ids;
}

/** One line of /etc/subuid or /etc/subgid: `owner:first:count`. */
export interface SubidEntry {
  owner: string;
  first: number;
  count: number;
  line: number;
}

/** The entries of a subuid/subgid file's text (comments and malformed lines skipped). */
export function parseSubids(text: string): SubidEntry[] {
  const out: SubidEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = /^([^:#\s]+):(\d+):(\d+)\s*$/.exec(raw.trim());
    if (m) out.push({ owner: m[1]!, first: Number(m[2]), count: Number(m[3]), line: i + 1 });
  });
  return out;
}

const overlaps = (a: IdRange, b: IdRange): boolean =>
  a.first < b.first + b.count && b.first < a.first + a.count;

/**
 * Why `ids` cannot be used from `file` (e.g. /etc/subuid) by root, or undefined when it can:
 * root must be delegated the whole range (newuidmap refuses otherwise), and no other owner any
 * part of it (another user's rootless containers would share its host ids with our sandboxes).
 */
export function subidProblem(
  file: string,
  ids: IdRange,
  read: (f: string) => string = (f) => readFileSync(f, 'utf8'),
): string | undefined {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    return `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  const last = ids.first + ids.count - 1;
  const entries = parseSubids(text);
  const other = entries.find((e) => e.owner !== 'root' && e.owner !== '0' && overlaps(e, ids));
  if (other) {
    return (
      `${file}:${other.line} delegates ${other.first}-${other.first + other.count - 1} to ` +
      `'${other.owner}', overlapping ${ids.first}-${last}: pick a range nobody else has`
    );
  }
  const covered = entries.some(
    (e) =>
      (e.owner === 'root' || e.owner === '0') &&
      e.first <= ids.first &&
      e.first + e.count >= ids.first + ids.count,
  );
  if (!covered) return `${file} has no line 'root:${ids.first}:${ids.count}'`;
  return undefined;
}
