/** CPU architecture names: Debian's (amd64, arm64), Joblet's platforms, and the kernel's. */
import { ARCHITECTURES, type Arch } from './constants.js';
import type { RuntimeSpec } from './runtime-spec.js';

const ALIASES: Readonly<Record<string, Arch>> = {
  amd64: 'amd64',
  x86_64: 'amd64',
  x64: 'amd64',
  arm64: 'arm64',
  aarch64: 'arm64',
};

/** `uname -m` (or Node's `os.machine()`) to a Debian architecture: x86_64 → amd64, aarch64 → arm64. */
export function archFromUname(machine: string): Arch | undefined {
  return Object.hasOwn(ALIASES, machine) ? ALIASES[machine] : undefined;
}

/** The architecture of a Joblet platform name: `ubuntu-amd64` → amd64, `rhel-arm64` → arm64. */
export function platformToArch(platform: string): Arch | undefined {
  const m = /^[a-z][a-z0-9]*-([a-z0-9_]+)$/.exec(platform.toLowerCase());
  return m?.[1] !== undefined ? archFromUname(m[1]) : undefined;
}

/**
 * The architectures to build a spec for: its `architectures`, else the architectures of its
 * `platforms`, else `fallback` — the server passes the pools it runs; the default is every
 * architecture the farm knows, since a runtime is built "for every CPU architecture".
 * Ordered as {@link ARCHITECTURES}.
 */
export function specArchitectures(
  spec: Pick<RuntimeSpec, 'architectures' | 'platforms'>,
  fallback: readonly Arch[] = ARCHITECTURES,
): Arch[] {
  let chosen: readonly Arch[] = fallback;
  if (spec.architectures && spec.architectures.length > 0) chosen = spec.architectures;
  else if (spec.platforms && spec.platforms.length > 0) {
    chosen = spec.platforms.map(platformToArch).filter((a): a is Arch => a !== undefined);
  }
  return ARCHITECTURES.filter((a) => chosen.includes(a));
}
