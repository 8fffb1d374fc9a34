/**
 * Writes a server's token into the rnx config file (`~/.rnx/rnx-config.yml`), for `rnx farm up`.
 * The file is written whole to a temp file created 0600 and renamed over the old one, so it is
 * never readable by others, not even for a moment, and never half-written; comments and other
 * entries are kept. `~/.rnx` is made 0700 when it does not exist yet.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigFile, sameUrl } from './config.js';
import { UsageError } from './errors.js';

export interface SavedEntry {
  /** The entry's name (`local`, or `local-<port>` when `local` names another URL). */
  name: string;
  /** Whether `current` names it (set when the file had no usable `current`). */
  current: boolean;
  /** The name `current` has, when it is another entry. */
  otherCurrent?: string;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Sets `token` on the entry for `url` (made if missing); makes it `current` if none is. */
export function saveServerToken(configPath: string, url: string, token: string): SavedEntry {
  const doc = parseDocument(readText(configPath));
  const parsed = ConfigFile.safeParse(doc.toJS() ?? {});
  if (!parsed.success)
    throw new UsageError(`${configPath}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const { servers, current } = parsed.data;
  const port = new URL(url).port || '80';
  const free = (n: string) => !servers[n] || sameUrl(servers[n].url, url);
  const name =
    Object.keys(servers).find((n) => sameUrl(servers[n]!.url, url)) ??
    ['local', `local-${port}`, ...[2, 3, 4, 5].map((i) => `local-${port}-${i}`)].find(free) ??
    `local-${randomBytes(3).toString('hex')}`;
  doc.setIn(['servers', name, 'url'], url);
  doc.setIn(['servers', name, 'token'], token);
  const makeCurrent = !current || !servers[current] || current === name;
  if (makeCurrent) doc.set('current', name);

  mkdirSync(dirname(configPath), { recursive: true, mode: 0o700 });
  const tmp = `${configPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, doc.toString(), { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600); // whatever the umask
    renameSync(tmp, configPath);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new UsageError(`cannot write ${configPath}: ${(err as Error).message}`);
  }
  return { name, current: makeCurrent, ...(makeCurrent ? {} : { otherCurrent: current }) };
}
