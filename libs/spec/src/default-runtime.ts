/**
 * The farm's default runtime: what `rnx job run CMD` without `--runtime` runs in. A minimal Debian
 * root, built and published like any runtime from the spec below (the API builds it on first
 * need); its jobs get the whole tree as a writable, throw-away root, as root in a user namespace
 * (see {@link isSystemRoot}). An operator may name another runtime (API_DEFAULT_RUNTIME).
 */

/** The default runtime's name, and its reference when the operator names none. */
export const DEFAULT_RUNTIME_NAME = 'debian-12';

/**
 * The spec the farm builds its default runtime from. apt inside a job runs as root of a user
 * namespace that maps one uid, where apt's `_apt` download user does not exist: apt keeps root.
 */
export const DEFAULT_RUNTIME_SPEC = `schema_version: "1.0"
name: ${DEFAULT_RUNTIME_NAME}
version: 1.0.0
description: Debian 12 (bookworm) minimal root, the farm's default runtime (writable, throw-away)

base:
  language: debian
  version: "12"

hooks:
  post_install: |
    printf 'APT::Sandbox::User "root";\\n' > /etc/apt/apt.conf.d/99joblet-job-root
`;

/**
 * How the API's 409 names the build of the default runtime it started on first need (the
 * message of its `runtime` field issue, followed by the build id); `rnx job run` follows it.
 */
export const DEFAULT_RUNTIME_BUILDING = 'default runtime building: build';

/**
 * A runtime whose base is a plain distribution root (`base.language: debian`): its jobs run in
 * the whole tree, writable and discarded when the job ends, as root of a user namespace — not in
 * the read-only mounts of runtime.yml as uid 65534.
 */
export function isSystemRoot(language: string): boolean {
  return language === 'debian';
}
