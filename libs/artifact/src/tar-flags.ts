// Every GNU tar and zstd command line of the farm, in one place, with why each flag is there.
// Measured here: GNU tar 1.34 and zstd 1.5.4 (Debian 12). node-tar is not used: it hung on device
// nodes and was ~30x slower than the CLI (ENVIRONMENT.md).

/**
 * Environment for tar and zstd: only PATH and LC_ALL=C. A clean environment matters for
 * determinism and safety: `TAR_OPTIONS` (e.g. `--absolute-names`) and `ZSTD_CLEVEL` /
 * `ZSTD_NBTHREADS` in the host environment would otherwise change what is written or accepted,
 * and LC_ALL=C fixes the language of messages and the quoting of listings we parse.
 */
export function toolEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
}

/** Pax option: no atime/ctime records, and a header name without the pid (`%p`) GNU tar uses by default. */
const PAX_OPTION = '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime';

/**
 * `tar --create` writing to stdout the members named on stdin (NUL-separated), relative to `dir`.
 * The caller walks the tree and lists every entry itself, in `--sort=name` order: that is how
 * device nodes, FIFOs and sockets are left out without pattern-matching exclusions.
 * - `--format=posix` + the pax option: portable, and no pid/atime/ctime in the bytes;
 * - `--mtime=@EPOCH --owner=0 --group=0 --numeric-owner`: no times, users or names of the host;
 * - `--mode=u-s,g-s,o-w` (`normalise`, the default) or `--mode=u-s,g-s`: setuid/setgid bits are
 *   stripped from every member, and with `normalise` write for others too (a symlink's header
 *   then says 0775: symlink modes mean nothing on Linux). The rest of normalisation — scratch
 *   dirs emptied and made 0755 — is a tree pass, see normaliseScratchDirs;
 * - `--no-recursion --null --verbatim-files-from --no-unquote -T -`: exactly the listed names,
 *   taken literally (a name starting with `-` is not an option, a backslash is not an escape);
 * - `--no-xattrs --no-acls --no-selinux`: no `security.capability` or other xattrs travel.
 */
export function tarCreateArgs(dir: string, sourceDateEpoch: number, normalise = true): string[] {
  return [
    '--create',
    '--file=-',
    '--format=posix',
    PAX_OPTION,
    `--mtime=@${sourceDateEpoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    normalise ? '--mode=u-s,g-s,o-w' : '--mode=u-s,g-s',
    '--no-xattrs',
    '--no-acls',
    '--no-selinux',
    '--directory',
    dir,
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    '--no-unquote',
    '--files-from=-',
  ];
}

/**
 * `tar --list` of stdin, one ls-style line per member, for validation before trusting anything.
 * `--absolute-names` here only means "show names exactly as stored" (listing writes nothing):
 * without it tar would silently strip a leading `/` and we could not refuse such an archive.
 * `--quoting-style=c` makes every name a C string literal, so names containing ` -> `, quotes
 * or newlines parse unambiguously; `--full-time --numeric-owner` fix the other columns.
 */
export function tarListArgs(): string[] {
  return [
    '--list',
    '--verbose',
    '--file=-',
    '--absolute-names',
    '--numeric-owner',
    '--full-time',
    '--quoting-style=c',
  ];
}

/**
 * `tar --extract` of stdin into `dir`, which must be a fresh, empty staging directory.
 * GNU tar itself refuses `..` members, strips a leading `/`, and extracts a symlink with an
 * absolute or `..` target as a placeholder until the end, so a later member cannot be written
 * through it; the listing check and the tree check after it do not rely on any of that.
 * - `--no-same-owner`: everything belongs to the extracting user, whatever the archive says;
 * - `--preserve-permissions`: modes as packed, independent of umask (setuid is refused earlier);
 * - `--no-overwrite-dir`: the archive's `./` entry cannot change the staging dir's own mode;
 * - `--delay-directory-restore`: read-only directories get their mode after their contents;
 * - `--no-xattrs --no-acls --no-selinux`: no file capabilities or labels from the archive.
 */
export function tarExtractArgs(dir: string): string[] {
  return [
    '--extract',
    '--file=-',
    '--directory',
    dir,
    '--no-same-owner',
    '--preserve-permissions',
    '--no-overwrite-dir',
    '--delay-directory-restore',
    '--no-xattrs',
    '--no-acls',
    '--no-selinux',
  ];
}

/**
 * `zstd` compressing stdin to stdout. `-T0` uses every core; zstd's output does not depend on the
 * number of worker threads, so the archive is the same on a 2-core and a 64-core host (same zstd
 * version and level). `-q` keeps progress noise out of stderr, which we keep for errors.
 */
export function zstdCompressArgs(level: number, threads: number): string[] {
  if (!Number.isInteger(level) || level < 1 || level > 19) {
    throw new RangeError(`zstd level must be an integer 1..19, got ${level}`);
  }
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`zstd threads must be an integer >= 0, got ${threads}`);
  }
  return ['-q', `-${level}`, `-T${threads}`, '-c', '-'];
}

/** `zstd -d` of stdin to stdout; a corrupt frame or a failed content checksum exits non-zero. */
export function zstdDecompressArgs(): string[] {
  return ['-q', '-d', '-c', '-'];
}
