/**
 * Documents the farm keeps in the object store: the runtime index entry (written when every
 * requested arch succeeded) and the build pointer. API, worker and agent all read them through
 * these schemas. The per-arch artifact manifest and its signatures are @joblet/artifact's.
 */
import { z } from 'zod';
import { RuntimeYml } from '../runtime-yml.js';
import { ArchName, ArtifactInfo } from './build.js';

/** One arch of an index entry: where its artifact is and what its runtime.yml says. */
export const IndexArch = ArtifactInfo.extend({ runtimeYml: RuntimeYml });
export type IndexArch = z.infer<typeof IndexArch>;

/** `index/<name>/<version>.json` */
export const RuntimeIndexEntry = z.object({
  schema: z.literal(1),
  name: z.string(),
  version: z.string(),
  description: z.string().optional(),
  language: z.string(),
  languageVersion: z.string(),
  publishedAt: z.string(),
  buildId: z.string(),
  arches: z.partialRecord(ArchName, IndexArch),
});
export type RuntimeIndexEntry = z.infer<typeof RuntimeIndexEntry>;

/** `builds/<buildKey>.json`: which published artifact a build key produced. */
export const BuildPointer = z.object({
  name: z.string(),
  version: z.string(),
  arch: ArchName,
  manifestKey: z.string(),
});
export type BuildPointer = z.infer<typeof BuildPointer>;
