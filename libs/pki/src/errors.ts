// Errors of @joblet/pki. Messages name the `rnx admin certs init` flag at fault (`--days`,
// `--san`, `--force`), since that command is what operators run; the CLI maps the codes to its
// exit codes.

export const PkiErrorCode = {
  /** A name, SAN, validity or directory the caller gave is unusable (a usage error). */
  InvalidArgument: 'PKI_INVALID_ARGUMENT',
  /** openssl is missing or failed; the message carries the tail of its stderr. */
  OpensslFailed: 'PKI_OPENSSL_FAILED',
} as const;
export type PkiErrorCode = (typeof PkiErrorCode)[keyof typeof PkiErrorCode];

/** Making a key, a CA or a certificate failed. */
export class PkiError extends Error {
  override readonly name = 'PkiError';
  constructor(
    message: string,
    readonly code: PkiErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
