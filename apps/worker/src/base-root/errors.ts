// Error class of the worker's base roots (debootstrap, pack, unpack); its codes are constants so
// no call site compares against a bare string literal.

/** Codes of {@link RootfsError}. */
export const RootfsErrorCode = {
  /** Suite, architecture, mirror or package name failed validation. */
  InvalidArgument: 'ROOTFS_INVALID_ARGUMENT',
  /** debootstrap (first or second stage) failed; the message carries its output tail. */
  DebootstrapFailed: 'DEBOOTSTRAP_FAILED',
  /** A foreign architecture was requested but no binfmt_misc handler for it is registered. */
  NoEmulation: 'ROOTFS_NO_EMULATION',
  /** A packed base root does not match what was asked for (suite/arch in meta.json). */
  BadArchive: 'ROOTFS_BAD_ARCHIVE',
} as const;
export type RootfsErrorCode = (typeof RootfsErrorCode)[keyof typeof RootfsErrorCode];

/** Building, packing or unpacking a base root failed. */
export class RootfsError extends Error {
  override readonly name = 'RootfsError';
  constructor(
    message: string,
    readonly code: RootfsErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
