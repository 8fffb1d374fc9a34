// Validation of an archive from GNU tar's own listing (`tar --list --verbose --quoting-style=c
// --absolute-names`): the same parser that extracts decides what the members are, so there is no
// second tar parser of ours that an attacker could make disagree with it.

/** How symlink targets are judged. */
export type SymlinkPolicy =
  /**
   * Targets must stay inside the tree when resolved from the link's own directory on the host:
   * absolute targets are refused. For trees the host itself looks into.
   */
  | 'contained'
  /**
   * Absolute targets are allowed and taken relative to the tree root, as inside a sandbox whose
   * `/` is this tree (Debian roots are full of `/etc/alternatives/...` links). Relative targets
   * still must not climb above the root. Never follow such links on the host.
   */
  | 'rooted';

/** What an extracted tree must be, beyond the checks that always apply. */
export interface TreeRules {
  /** How symlink targets are judged. Default `'contained'`. */
  symlinks?: SymlinkPolicy;
  /**
   * Require a normalised runtime tree (see tree-normalise.ts): no file or directory writable by
   * others, every member owned by 0:0. Default true; false for trees that are not runtimes (the
   * worker's base roots, which keep their world-writable `/tmp`).
   */
  normalised?: boolean;
}

/** One member as listed by tar. */
export interface ListedEntry {
  /** The member name exactly as stored (raw bytes). */
  name: Buffer;
  /** ls-style type: `-` file, `d` dir, `l` symlink, `h` hard link, `c`/`b` device, `p` FIFO, ... */
  typeChar: string;
  /** The 10-character ls-style mode string, e.g. `-rwxr-xr-x`. */
  mode: string;
  /** Symlink or hard link target, raw bytes. */
  linkTarget?: Buffer;
  /** Numeric owner and group (`--numeric-owner` listing), when the line shows them. */
  uid?: number;
  gid?: number;
}

/** Why an archive is refused. */
export interface EntryViolation {
  /** The offending member name (UTF-8 decoded, for messages). */
  entry: string;
  reason: string;
}

const TYPE_REASONS: Record<string, string> = {
  c: 'is a character device',
  b: 'is a block device',
  p: 'is a FIFO',
  s: 'is a socket',
};

/** Decodes a C string literal (GNU quotearg `c` style) starting at `s[start] === '"'`. */
export function decodeCString(s: string, start: number): { bytes: Buffer; end: number } {
  if (s[start] !== '"') throw new Error('expected a quoted name');
  const out: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  let i = start + 1;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '"') return { bytes: Buffer.from(out), end: i + 1 };
    if (ch !== '\\') {
      out.push(...Buffer.from(ch, 'utf8'));
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === undefined) break;
    if (next >= '0' && next <= '7') {
      let j = i + 1;
      let v = 0;
      while (j < s.length && j < i + 4 && s[j]! >= '0' && s[j]! <= '7') v = v * 8 + Number(s[j++]);
      out.push(v & 0xff);
      i = j;
    } else {
      out.push(simple[next] ?? next.charCodeAt(0));
      i += 2;
    }
  }
  throw new Error('unterminated quoted name');
}

/** Parses one line of {@link tarListArgs} output. Throws on anything it does not recognise. */
export function parseListingLine(line: string): ListedEntry {
  const mode = line.slice(0, 10);
  const q = line.indexOf('"');
  if (!/^[-a-zA-Z?][-rwxsStT]{9}$/.test(mode) || q < 0) {
    throw new Error(`unrecognised listing line: ${JSON.stringify(line.slice(0, 200))}`);
  }
  const name = decodeCString(line, q);
  const rest = line.slice(name.end);
  const entry: ListedEntry = { name: name.bytes, typeChar: mode[0]!, mode };
  const owner = /^ (\d+)\/(\d+) /.exec(line.slice(10, q));
  if (owner) {
    entry.uid = Number(owner[1]);
    entry.gid = Number(owner[2]);
  }
  if (rest === '') return entry;
  const arrow = rest.startsWith(' -> "') ? 4 : rest.startsWith(' link to "') ? 9 : -1;
  if (arrow < 0)
    throw new Error(`unrecognised listing line: ${JSON.stringify(line.slice(0, 200))}`);
  const target = decodeCString(rest, arrow);
  if (target.end !== rest.length) {
    throw new Error(`unrecognised listing line: ${JSON.stringify(line.slice(0, 200))}`);
  }
  entry.linkTarget = target.bytes;
  return entry;
}

type Known = 'dir' | 'implied-dir' | 'file' | 'symlink' | 'hardlink';

/** Splits a member name into components, dropping empty and `.` ones. */
function components(name: Buffer): string[] {
  return name
    .toString('latin1')
    .split('/')
    .filter((c) => c !== '' && c !== '.');
}

/**
 * Checks members one by one, in archive order, and remembers the first violation.
 * Refused: absolute names, `..` components, devices/FIFOs/sockets/other types, setuid or setgid
 * bits, (with {@link TreeRules.normalised}) files and directories writable by others and members
 * not owned by 0:0, duplicate names, members placed through a symlink or a file, a non-directory replacing
 * a directory, symlinks resolving outside the tree (see {@link SymlinkPolicy}), and hard links to
 * anything but an earlier regular file of the archive.
 */
export class ListingChecker {
  private readonly known = new Map<string, Known>();
  /** First violation found, if any. */
  violation: EntryViolation | undefined;
  /** Members checked so far. */
  count = 0;

  private readonly policy: SymlinkPolicy;
  private readonly normalised: boolean;

  /** `rules` as a string is the symlink policy (with the other rules' defaults). */
  constructor(rules: SymlinkPolicy | TreeRules = {}) {
    const r = typeof rules === 'string' ? { symlinks: rules } : rules;
    this.policy = r.symlinks ?? 'contained';
    this.normalised = r.normalised ?? true;
  }

  /** Checks one listing line; a line that does not parse is itself a violation. */
  addLine(line: string): void {
    if (this.violation) return;
    let e: ListedEntry;
    try {
      e = parseListingLine(line);
    } catch (err) {
      this.violation = { entry: line.slice(0, 200), reason: (err as Error).message };
      return;
    }
    const reason = this.check(e);
    if (reason) this.violation = { entry: e.name.toString('utf8'), reason };
  }

  private check(e: ListedEntry): string | undefined {
    this.count++;
    const raw = e.name.toString('latin1');
    if (raw.startsWith('/')) return 'has an absolute path';
    const parts = components(e.name);
    if (parts.includes('..')) return "has a '..' component";
    const t = e.typeChar;
    if (TYPE_REASONS[t]) return TYPE_REASONS[t];
    if (t !== '-' && t !== 'd' && t !== 'l' && t !== 'h') return `has unsupported type '${t}'`;
    if ('sS'.includes(e.mode[3]!)) return 'has the setuid bit';
    if ('sS'.includes(e.mode[6]!)) return 'has the setgid bit';
    if (this.normalised) {
      // A symlink's mode means nothing (and plain tar lists every one as lrwxrwxrwx).
      if (t !== 'l' && e.mode[8] === 'w') return `is writable by others (${e.mode})`;
      if (e.uid === undefined || e.gid === undefined) return 'has no numeric owner in the listing';
      if (e.uid !== 0 || e.gid !== 0) return `is owned by ${e.uid}:${e.gid}, not root (0:0)`;
    }
    if (parts.length === 0) return t === 'd' ? undefined : 'names the root but is not a directory';

    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const k = this.known.get(prefix);
      if (k === 'symlink') return `is placed through the symlink '${prefix}'`;
      if (k === 'file' || k === 'hardlink') return `is placed below the non-directory '${prefix}'`;
      if (k === undefined) this.known.set(prefix, 'implied-dir');
    }
    const key = parts.join('/');
    const prev = this.known.get(key);
    if (prev !== undefined && !(prev === 'implied-dir' && t === 'd')) {
      return prev === 'implied-dir' ? 'replaces a directory' : 'appears twice in the archive';
    }

    if (t === 'l') {
      const why = this.checkSymlink(parts, e.linkTarget);
      if (why) return why;
    } else if (t === 'h') {
      const target = e.linkTarget?.toString('latin1') ?? '';
      if (target.startsWith('/')) return 'is a hard link to an absolute path';
      const tparts = components(e.linkTarget ?? Buffer.alloc(0));
      if (tparts.includes('..')) return "is a hard link with a '..' component";
      if (this.known.get(tparts.join('/')) !== 'file') {
        return `is a hard link to '${e.linkTarget?.toString('utf8')}', not an earlier regular file`;
      }
    }
    this.known.set(
      key,
      t === 'd' ? 'dir' : t === 'l' ? 'symlink' : t === 'h' ? 'hardlink' : 'file',
    );
    return undefined;
  }

  /** Lexical resolution of a symlink target from the link's directory (see the policy). */
  private checkSymlink(parts: readonly string[], target: Buffer | undefined): string | undefined {
    if (!target || target.length === 0) return 'is a symlink with an empty target';
    const abs = target[0] === 0x2f;
    if (abs && this.policy === 'contained') return 'is a symlink to an absolute path';
    const stack = abs ? [] : parts.slice(0, -1);
    for (const c of components(target)) {
      if (c !== '..') stack.push(c);
      else if (stack.pop() === undefined) return 'is a symlink that escapes the tree';
    }
    return undefined;
  }
}
