import { z } from 'zod';

/** Largest request body the validate and build routes accept (the spec itself is capped at 256 KiB
 * by the validator, which reports that as a diagnostic with its position). */
export const SPEC_REQUEST_BODY_LIMIT_BYTES = 1024 * 1024;

export const DiagnosticBody = z.object({
  severity: z.enum(['error', 'warning']),
  code: z.string(),
  file: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  path: z.string(),
  message: z.string(),
});
export type DiagnosticBody = z.infer<typeof DiagnosticBody>;

/** `POST /v1/runtimes/validate` request. */
export const ValidateRequest = z.object({
  /** The runtime.yaml text, as the user wrote it. */
  spec: z.string(),
  /** File name to show in diagnostics (no directories). */
  filename: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\0]+$/, 'a file name without directories')
    .optional(),
});
export type ValidateRequest = z.infer<typeof ValidateRequest>;

/** What the spec declares, for the CLI's summary. */
export const SpecSummary = z.object({
  name: z.string(),
  version: z.string(),
  description: z.string().optional(),
  language: z.string(),
  languageVersion: z.string(),
  base: z.string().optional(),
  architectures: z.array(z.string()),
  counts: z.object({
    pip: z.number(),
    npm: z.number(),
    apt: z.number(),
    libraries: z.number(),
    environment: z.number(),
  }),
  hooks: z.array(z.string()),
});
export type SpecSummary = z.infer<typeof SpecSummary>;

/** `POST /v1/runtimes/validate` response: validation is a 200 whether or not the spec is valid. */
export const ValidateResponse = z.object({
  valid: z.boolean(),
  errors: z.array(DiagnosticBody),
  warnings: z.array(DiagnosticBody),
  summary: SpecSummary.optional(),
  server: z.object({
    /** Whether `name@version` already has an index entry (a build would need --force). */
    exists: z.boolean().optional(),
    /** Live workers per architecture queue. */
    workers: z.record(z.string(), z.number()),
  }),
});
export type ValidateResponse = z.infer<typeof ValidateResponse>;
