/**
 * Listening fails for reasons the settings cause (a port taken or privileged, an address not of
 * this host): those are configuration errors naming API_HOST/API_PORT, so the API exits 78 and
 * systemd does not restart it forever.
 */
/** API_HOST/API_PORT name an address this process cannot listen on: configuration (exit 78). */
export class ListenConfigError extends Error {
  override readonly name = 'ListenConfigError';
}

/** A listen failure the settings cause (port taken, privileged, address not ours) names them. */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EADDRINUSE: 'the address is already in use',
    EACCES: 'permission denied (a port below 1024 needs privileges)',
    EADDRNOTAVAIL: 'the address is not one of this host',
  };
  if (!code || !why[code]) return err;
  return new ListenConfigError(
    `API_HOST/API_PORT: cannot listen on ${host}:${port}: ${why[code]}`,
    {
      cause: err,
    },
  );
}
