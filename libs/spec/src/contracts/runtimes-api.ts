/** Bodies of the `/v1/runtimes` and `/v1/nodes` routes, shared by the API and `rnx`. */
import { z } from 'zod';
import { RuntimeIndexEntry } from './artifacts.js';
import { ArchName } from './build.js';
import { NodeRuntimeStatus, NodeView } from './nodes.js';
import { RuntimePackageMatch } from './runtime-sbom-api.js';

/** One row of `rnx runtime list`. */
/** An operator's retention pin on one version: GC keeps it, `remove` refuses it until unpinned. */
export const RuntimePin = z.object({
  /** The identity that pinned it (token name, certificate subject, `local`). */
  by: z.string(),
  at: z.string(),
  reason: z.string().optional(),
});
export type RuntimePin = z.infer<typeof RuntimePin>;

export const PinRuntimeRequest = z.object({ reason: z.string().max(500).optional() });
export type PinRuntimeRequest = z.infer<typeof PinRuntimeRequest>;

export const PinRuntimeResponse = z.object({
  name: z.string(),
  version: z.string(),
  /** The pin now in place; absent after an unpin. */
  pin: RuntimePin.optional(),
});
export type PinRuntimeResponse = z.infer<typeof PinRuntimeResponse>;

export const RuntimeSummary = z.object({
  name: z.string(),
  version: z.string(),
  language: z.string(),
  languageVersion: z.string(),
  description: z.string().optional(),
  arches: z.array(ArchName),
  /** Uncompressed size of the tree per arch (bytes). */
  treeBytes: z.partialRecord(ArchName, z.number()),
  /** Compressed artifact size per arch (bytes). */
  artifactBytes: z.partialRecord(ArchName, z.number()),
  /** Nodes (online, of one of its arches) that have it installed, out of all such nodes. */
  nodes: z.object({ installed: z.number(), total: z.number() }),
  publishedAt: z.string(),
  /** Set when an operator pinned this version (`rnx runtime pin`). */
  pinned: RuntimePin.optional(),
  /** With `?package=NAME`: the packages of that name (or Debian source) it ships, per arch. */
  packages: z.array(RuntimePackageMatch).optional(),
});
export type RuntimeSummary = z.infer<typeof RuntimeSummary>;

export const ListRuntimesResponse = z.object({ runtimes: z.array(RuntimeSummary) });
export type ListRuntimesResponse = z.infer<typeof ListRuntimesResponse>;

/** `GET /v1/runtimes/:ref`: the index entry (runtime.yml per arch) and where it is installed. */
export const RuntimeDetail = z.object({
  summary: RuntimeSummary,
  index: RuntimeIndexEntry,
  /** Other published versions of the same name, newest first. */
  versions: z.array(z.string()),
  installs: z.array(NodeRuntimeStatus.extend({ node: z.string(), online: z.boolean() })),
});
export type RuntimeDetail = z.infer<typeof RuntimeDetail>;

export const RuntimeRefParams = z.object({ ref: z.string().min(1).max(200) });

export const RemoveRuntimeResponse = z.object({
  removed: z.array(z.object({ name: z.string(), version: z.string() })),
});
export type RemoveRuntimeResponse = z.infer<typeof RemoveRuntimeResponse>;

export const RuntimeTestRequest = z.object({
  /** Run on this node; default: any online node that has it installed. */
  node: z.string().optional(),
  arch: ArchName.optional(),
});

export const RuntimeTestResponse = z.object({
  name: z.string(),
  version: z.string(),
  node: z.string(),
  arch: ArchName,
  command: z.array(z.string()),
  exitCode: z.number(),
  output: z.string(),
  durationMs: z.number(),
});
export type RuntimeTestResponse = z.infer<typeof RuntimeTestResponse>;

export const ListNodesResponse = z.object({ nodes: z.array(NodeView) });
export type ListNodesResponse = z.infer<typeof ListNodesResponse>;
