/**
 * Docker's default capability set: what installing packages needs (chown, setuid for dropping
 * to a package's user, …) and nothing that escapes a sandbox. Builds keep it as real root; jobs
 * in a system root keep it as root of their own user namespace, where it reaches nothing else.
 */
export const DOCKER_DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
] as const;
