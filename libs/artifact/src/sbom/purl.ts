/**
 * Package URLs (purl) for what a runtime contains, built with packageurl-js, the purl project's
 * own implementation (encoding, pypi name normalisation, npm scopes as `%40scope`).
 */
import { PackageURL } from 'packageurl-js';

/** `pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64` */
export function debPurl(distro: string, name: string, version: string, arch: string): string {
  return new PackageURL('deb', distro, name, version, { arch }, undefined).toString();
}

/** `pkg:pypi/django@5.0.1` (the name normalised as PEP 503 says). */
export function pypiPurl(name: string, version: string): string {
  return new PackageURL('pypi', undefined, name, version, undefined, undefined).toString();
}

/** `pkg:npm/%40types/node@20.11.0`, `pkg:npm/left-pad@1.3.0` */
export function npmPurl(fullName: string, version: string): string {
  const slash = fullName.startsWith('@') ? fullName.indexOf('/') : -1;
  const namespace = slash > 0 ? fullName.slice(0, slash) : undefined;
  const name = slash > 0 ? fullName.slice(slash + 1) : fullName;
  return new PackageURL('npm', namespace, name, version, undefined, undefined).toString();
}

/**
 * `pkg:generic/<namespace>/<name>@<version>?checksum=sha256:…&download_url=…`: a file from
 * upstream, named by where it came from and what it hashes to.
 */
export function genericPurl(
  namespace: string,
  name: string,
  version: string,
  file: { url: string; sha256: string },
): string {
  return new PackageURL(
    'generic',
    namespace,
    name,
    version,
    { checksum: `sha256:${file.sha256}`, download_url: file.url },
    undefined,
  ).toString();
}
