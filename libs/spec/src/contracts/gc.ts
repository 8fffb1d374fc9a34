/**
 * `POST /v1/gc` (admin) and `rnx runtime gc`: what the garbage collector found in the artifact
 * store, how much space it frees, and whether it deleted it (`dryRun: false`) or only looked.
 */
import { z } from 'zod';

export const GC_ITEM_KINDS = [
  /** A published version beyond the newest N of its runtime: index entry, artifacts, pointers. */
  'version',
  /** An object under `runtimes/` that no index entry references. */
  'artifact',
  /** A `builds/<key>.json` cache pointer whose manifest is gone. */
  'pointer',
  /** `staging/<buildId>/` of a build that is not in flight. */
  'staging',
  /** `bases/<distro>/<suite>/<arch>/`: no published runtime uses it and it is old. */
  'base',
] as const;
export const GcItemKind = z.enum(GC_ITEM_KINDS);
export type GcItemKind = z.infer<typeof GcItemKind>;

export const GcRequest = z.object({
  /** Only report what would go. Default true: a bare request never deletes. */
  dryRun: z.boolean().default(true),
});
export type GcRequest = z.input<typeof GcRequest>;

export const GcItem = z.object({
  kind: GcItemKind,
  /** The object key, the prefix (ending in `/`), or `name@version` for a version. */
  key: z.string(),
  /** Bytes it occupies in the store. */
  bytes: z.number().int().nonnegative(),
  reason: z.string(),
  /** Set when deleting it failed (it is then not counted in `bytes` of the response). */
  error: z.string().optional(),
});
export type GcItem = z.infer<typeof GcItem>;

export const GcResponse = z.object({
  items: z.array(GcItem),
  /** Bytes freed (or, in a dry run, that would be freed). */
  bytes: z.number().int().nonnegative(),
  dryRun: z.boolean(),
  /** Versions kept per runtime and the other settings the collector applied. */
  policy: z.object({
    keepVersions: z.number().int(),
    baseUnusedDays: z.number(),
    graceS: z.number(),
  }),
});
export type GcResponse = z.infer<typeof GcResponse>;
