/**
 * What a build may add to the shared download caches: only content verified against an index it
 * cannot have forged, so no build — its hooks, `setup.py`, npm lifecycle scripts, all running as
 * root with its cache overlays writable — can change what a later build of another spec reads.
 *
 * - apt: a `.deb` whose sha256 one of the shared package lists names. Those lists were written by
 *   `apt-get update` (which checks them against the archive's signed InRelease) and published
 *   before any code of a spec ran; a build's own, writable copy of the lists is never consulted.
 * - npm: a content blob of npm's content-addressed cache (`_cacache/content-v2/<algo>/<hex>`) whose
 *   bytes hash to its own path. Index entries (`index-v5`, which map a registry URL to a blob)
 *   are never shared: a forged one could point a package at another blob. npm finds tarballs by
 *   their integrity, which it reads from the registry's metadata, fetched fresh.
 * - pip: nothing. pip's cache holds HTTP responses and locally built wheels; neither can be
 *   checked against an index here, so pip's cache stays private to each build.
 *
 * Each check runs on the copy about to be linked into the shared dir (see `promoteNewFiles`), so
 * what is checked is what is shared.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Decides whether a new cache file (`rel`, copied to `copy`) may be shared. */
export type CacheAdmission = (rel: string, copy: string) => Promise<boolean>;

/** The hex digest of a file. */
export async function fileDigest(path: string, algo: string): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every `SHA256:` a Packages index in `listsDir` names. */
async function packagesHashes(listsDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of await readdir(listsDir)) {
    if (!name.endsWith('_Packages')) continue;
    const lines = createInterface({ input: createReadStream(join(listsDir, name)) });
    for await (const line of lines) {
      if (line.startsWith('SHA256: ')) out.add(line.slice(8).trim());
    }
  }
  return out;
}

/**
 * `.deb` files at the top of the archives cache whose sha256 the trusted lists in `listsDir`
 * name. Without trusted lists nothing is admitted. The lists are read once, at the first `.deb`.
 */
export function aptAdmission(listsDir: string | undefined): CacheAdmission {
  let known: Promise<Set<string>> | undefined;
  return async (rel, copy) => {
    if (listsDir === undefined || !/^[^/]+\.deb$/.test(rel)) return false;
    known ??= packagesHashes(listsDir);
    return (await known).has(await fileDigest(copy, 'sha256'));
  };
}

const NPM_CONTENT =
  /^_cacache\/content-v2\/(sha512|sha384|sha256|sha1)\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]+)$/;

/** npm content blobs whose bytes hash to their own path; nothing else (no index entries). */
export const npmAdmission: CacheAdmission = async (rel, copy) => {
  const m = NPM_CONTENT.exec(rel);
  if (!m) return false;
  return (await fileDigest(copy, m[1]!)) === `${m[2]}${m[3]}${m[4]}`;
};
