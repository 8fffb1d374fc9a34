/** Request and response bodies of the `/v1/builds` routes, shared by the API and `rnx`. */
import { z } from 'zod';
import { ArchName, BuildRecord, SkippedArch } from './build.js';
import { RuntimeIndexEntry } from './artifacts.js';

/** `POST /v1/builds` */
export const SubmitBuildRequest = z.object({
  /** The runtime.yaml text as written (preserved in runtime.yml). */
  spec: z.string(),
  /** File name for diagnostics, without directories. */
  filename: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\0]+$/, 'a file name without directories')
    .optional(),
  /** Rebuild even when the build key already has an artifact; replace an existing version. */
  force: z.boolean().default(false),
  /** Overrides the spec's architectures / platforms. */
  architectures: z.array(ArchName).min(1).optional(),
  /** Keep every log line (the CLI shows them with -v). */
  verbose: z.boolean().default(false),
  /** Publish the architectures that succeeded even when another one failed. */
  allowPartial: z.boolean().default(false),
});
export type SubmitBuildRequest = z.input<typeof SubmitBuildRequest>;

/** 202 when queued (or joined an identical build in flight), 200 when cached. */
export const SubmitBuildResponse = z.discriminatedUnion('result', [
  z.object({
    result: z.literal('cached'),
    name: z.string(),
    version: z.string(),
    index: RuntimeIndexEntry,
    /** Listed by the spec but not built: this farm has no pool for them. */
    skipped: z.array(SkippedArch).default([]),
  }),
  z.object({
    result: z.literal('queued'),
    /** True when an identical submission was already in flight and this one joined it. */
    deduplicated: z.boolean(),
    build: BuildRecord,
  }),
]);
export type SubmitBuildResponse = z.infer<typeof SubmitBuildResponse>;

export const ListBuildsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const ListBuildsResponse = z.object({ builds: z.array(BuildRecord) });
export type ListBuildsResponse = z.infer<typeof ListBuildsResponse>;

/** Build ids are UUIDs; anything else is refused before it reaches Redis. */
export const BuildIdParams = z.object({ id: z.uuid() });
