import { z } from 'zod';

/** Error codes the API answers with; every 4xx/5xx body carries one. */
export const API_ERROR_CODES = [
  'BAD_REQUEST',
  'INVALID_SPEC',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  /** A per-identity quota (jobs, volumes, builds) is used up; the message names it and the count. */
  'QUOTA_EXCEEDED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export const ApiErrorCode = z.enum(API_ERROR_CODES);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** One problem with one field of a request. */
export const FieldIssue = z.object({ field: z.string(), message: z.string() });
export type FieldIssue = z.infer<typeof FieldIssue>;

/** The body of every error response: data, not an exception, because it crosses a process boundary. */
export const ApiErrorBody = z.object({
  code: ApiErrorCode,
  message: z.string(),
  details: z.array(FieldIssue).optional(),
  requestId: z.string().optional(),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
