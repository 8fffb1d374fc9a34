/** Error codes of {@link SpecError}, in one place. */
export const SpecErrorCodes = {
  INVALID_RUNTIME_REF: 'INVALID_RUNTIME_REF',
  INVALID_VERSION: 'INVALID_VERSION',
  CATALOG_UNREADABLE: 'CATALOG_UNREADABLE',
  CATALOG_INVALID: 'CATALOG_INVALID',
  INVALID_BUILD_INPUT: 'INVALID_BUILD_INPUT',
} as const;
export type SpecErrorCode = (typeof SpecErrorCodes)[keyof typeof SpecErrorCodes];

/**
 * Thrown by the parts of this library that are called with trusted-but-checked input (runtime
 * references, catalog files, build inputs). Validation of a user's spec never throws: it returns
 * diagnostics instead.
 */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly code: SpecErrorCode;

  constructor(code: SpecErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
