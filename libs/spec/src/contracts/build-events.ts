/**
 * Build events: what the SSE endpoint replays and follows. One Redis stream per build; the stream
 * entry id is the SSE event id, so `Last-Event-ID` resumes exactly after the last event seen.
 */
import { z } from 'zod';
import { ArchName, ArtifactInfo, BuildError, BuildState } from './build.js';

export const BuildEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('submitted'),
    arches: z.array(ArchName),
    name: z.string(),
    version: z.string(),
  }),
  z.object({
    type: z.literal('phase'),
    arch: ArchName,
    n: z.number(),
    total: z.number(),
    name: z.string(),
  }),
  z.object({
    type: z.literal('log'),
    arch: ArchName,
    stream: z.enum(['stdout', 'stderr', 'system']),
    line: z.string(),
  }),
  z.object({
    type: z.literal('arch-retry'),
    arch: ArchName,
    attempt: z.number(),
    error: BuildError,
  }),
  z.object({
    type: z.literal('arch-succeeded'),
    arch: ArchName,
    artifact: ArtifactInfo,
    durationMs: z.number(),
  }),
  z.object({ type: z.literal('arch-failed'), arch: ArchName, error: BuildError }),
  z.object({ type: z.literal('arch-canceled'), arch: ArchName }),
  /** Terminal: the build ended; no event follows. */
  z.object({ type: z.literal('done'), state: BuildState, error: BuildError.optional() }),
]);
export type BuildEvent = z.infer<typeof BuildEvent>;

/** Farm-wide events on `Keys.farmEvents` that agents follow with a cursor. */
export const FarmEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('runtime.published'),
    name: z.string(),
    version: z.string(),
    arches: z.array(ArchName),
  }),
  z.object({ type: z.literal('runtime.removed'), name: z.string(), version: z.string() }),
]);
export type FarmEvent = z.infer<typeof FarmEvent>;

/** Whether an event ends the build's stream (SSE closes after sending it). */
export function isTerminal(e: BuildEvent): boolean {
  return e.type === 'done';
}
