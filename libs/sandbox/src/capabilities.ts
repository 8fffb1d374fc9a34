/**
 * What apt, dpkg, pip and npm need as root, for a sandbox that is root of its own user namespace
 * (capabilities count there only): owners and modes of its own files (CHOWN, DAC_OVERRIDE,
 * FOWNER, FSETID), apt dropping to `_apt` and maintainer scripts running as other users (SETUID,
 * SETGID), root stopping their processes (KILL). Less than Docker's default set: no MKNOD,
 * SYS_CHROOT, SETFCAP, SETPCAP, NET_BIND_SERVICE or AUDIT_WRITE. Builds and system-root jobs.
 */
export const PACKAGE_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
] as const;
