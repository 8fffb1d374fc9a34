/**
 * Published runtimes: the index in the object store, joined with what every node reports.
 * Removal unpublishes first (index entry), then deletes artifacts and cache pointers, then tells
 * the agents through the farm event stream. Pinned versions (`runtime-pins.ts`) are shown as such
 * and cannot be removed until unpinned.
 */
import {
  parseRuntimeRef,
  pickVersion,
  resolveRuntimeRef,
  RuntimeIndexEntry,
  SpecError,
  type Arch,
  type NodeView,
  type RuntimeDetail,
  type RuntimePin,
  type RuntimeSummary,
} from '@joblet/spec';
import { appendEvent, type Keys, type RedisClient } from '@joblet/queue';
import {
  buildPointerKey,
  indexKey,
  indexPrefix,
  parseIndexKey,
  pinKey,
  runtimePrefix,
  type ArtifactStore,
} from '@joblet/storage';
import { ApiError } from '../plugins/errors.js';
import type { NodeService } from './node-service.js';
import { RuntimePins, type PinMap } from './runtime-pins.js';

/**
 * Parsed index entries are reused while the listing shows the same size and time for the object,
 * and for at most this long (ms): a rewrite that keeps both (S3 times have one-second resolution)
 * is seen within it. Reading and parsing every entry on each `GET /v1/runtimes` cost ~1 ms each.
 */
const ENTRY_CACHE_MS = 10_000;

interface CachedEntry {
  stamp: string;
  readAt: number;
  entry?: RuntimeIndexEntry;
}

export class RuntimeService {
  private readonly cache = new Map<string, CachedEntry>();
  private readonly pinStore: RuntimePins;

  constructor(
    private readonly store: ArtifactStore,
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly nodes: NodeService,
    private readonly now: () => number = Date.now,
  ) {
    this.pinStore = new RuntimePins(store);
  }

  /** Every retention pin, by `name@version`. */
  pins(): Promise<PinMap> {
    return this.pinStore.all();
  }

  /** Pins the version `ref` resolves to (a name alone means its latest); returns it and the pin. */
  async pin(
    ref: string,
    by: string,
    reason?: string,
  ): Promise<{ name: string; version: string; pin: RuntimePin }> {
    const e = await this.resolve(ref);
    const pin = { by, at: new Date(this.now()).toISOString(), ...(reason && { reason }) };
    await this.pinStore.pin(e.name, e.version, pin);
    return { name: e.name, version: e.version, pin };
  }

  /** Removes the pin of the version `ref` resolves to (none there: nothing to do). */
  async unpin(ref: string): Promise<{ name: string; version: string }> {
    const e = await this.resolve(ref);
    await this.pinStore.unpin(e.name, e.version);
    return { name: e.name, version: e.version };
  }

  /** Every published version, read from `index/`. */
  async entries(name?: string): Promise<RuntimeIndexEntry[]> {
    const out: RuntimeIndexEntry[] = [];
    const seen = new Set<string>();
    for await (const obj of this.store.list(indexPrefix(name))) {
      if (!parseIndexKey(obj.key)) continue;
      seen.add(obj.key);
      const stamp = `${obj.lastModified.getTime()}:${obj.size}`;
      let hit = this.cache.get(obj.key);
      if (!hit || hit.stamp !== stamp || this.now() - hit.readAt > ENTRY_CACHE_MS) {
        const parsed = RuntimeIndexEntry.safeParse(await this.store.getJson(obj.key));
        hit = { stamp, readAt: this.now(), entry: parsed.success ? parsed.data : undefined };
        this.cache.set(obj.key, hit);
      }
      if (hit.entry) out.push(hit.entry);
    }
    // Entries no longer listed are forgotten (only a full listing knows).
    if (name === undefined)
      for (const key of this.cache.keys()) if (!seen.has(key)) this.cache.delete(key);
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  }

  async list(): Promise<RuntimeSummary[]> {
    const [entries, nodes, pins] = await Promise.all([
      this.entries(),
      this.nodes.list(),
      this.pins(),
    ]);
    return entries.map((e) => summarize(e, nodes, pins));
  }

  /** The entry a reference means, or a 404 that lists similar names and how to build one. */
  async resolve(ref: string): Promise<RuntimeIndexEntry> {
    let parsed;
    try {
      parsed = parseRuntimeRef(ref);
    } catch (err) {
      if (err instanceof SpecError)
        throw new ApiError(400, 'BAD_REQUEST', err.message, [
          { field: 'ref', message: err.message },
        ]);
      throw err;
    }
    const entries = await this.entries(parsed.kind === 'name' ? parsed.name : undefined);
    const hit = resolveRuntimeRef(parsed, entries);
    if (hit) return hit;
    const all = parsed.kind === 'name' && entries.length === 0 ? await this.entries() : entries;
    const names = [...new Set(all.map((e) => e.name))];
    const wanted =
      parsed.kind === 'name' ? parsed.name : `${parsed.language}-${parsed.languageVersion}`;
    const similar = names
      .filter((n) => n.includes(wanted.split('-')[0] ?? wanted) || wanted.includes(n))
      .slice(0, 5);
    const versions = parsed.kind === 'name' ? entries.map((e) => e.version) : [];
    const hint = versions.length
      ? `; published versions: ${versions.join(', ')}`
      : similar.length
        ? `; similar: ${similar.join(', ')}`
        : '';
    throw new ApiError(
      404,
      'NOT_FOUND',
      `runtime not found: ${ref}${hint}; build one with: rnx runtime build ./runtime.yaml`,
    );
  }

  async detail(ref: string): Promise<RuntimeDetail> {
    const entry = await this.resolve(ref);
    const [nodes, siblings, pin] = await Promise.all([
      this.nodes.list(),
      this.entries(entry.name),
      this.pinStore.get(entry.name, entry.version),
    ]);
    const pins: PinMap = new Map(pin ? [[`${entry.name}@${entry.version}`, pin]] : []);
    const installs = nodes.flatMap((n) =>
      n.runtimes
        .filter((r) => r.name === entry.name && r.version === entry.version)
        .map((r) => ({ ...r, node: n.name, online: n.online })),
    );
    const versions = siblings.map((e) => e.version);
    const ordered: string[] = [];
    const rest = [...versions];
    while (rest.length) {
      const top = pickVersion(rest, 'latest') ?? rest[0]!;
      ordered.push(top);
      rest.splice(rest.indexOf(top), 1);
    }
    return { summary: summarize(entry, nodes, pins), index: entry, versions: ordered, installs };
  }

  /** `name` removes every version; `name@1.2.3` one. Returns what was removed. */
  async remove(ref: string): Promise<{ name: string; version: string }[]> {
    const parsed = (() => {
      try {
        return parseRuntimeRef(ref);
      } catch (err) {
        throw new ApiError(400, 'BAD_REQUEST', (err as Error).message, [
          { field: 'ref', message: (err as Error).message },
        ]);
      }
    })();
    if (parsed.kind !== 'name') {
      throw new ApiError(400, 'BAD_REQUEST', `remove takes name or name@version, not ${ref}`, [
        { field: 'ref', message: 'use name or name@version' },
      ]);
    }
    const targets =
      parsed.version === undefined ? await this.entries(parsed.name) : [await this.resolve(ref)];
    if (targets.length === 0) await this.resolve(ref); // throws the helpful 404
    const pins = await this.pins();
    const pinned = targets.filter((e) => pins.has(`${e.name}@${e.version}`));
    if (pinned.length > 0) {
      const refs = pinned.map((e) => `${e.name}@${e.version}`);
      const why = refs.map((r) => {
        const p = pins.get(r)!;
        return `${r} (pinned by ${p.by} at ${p.at}${p.reason ? `: ${p.reason}` : ''})`;
      });
      throw new ApiError(
        409,
        'CONFLICT',
        `${why.join(', ')}: unpin first with ${refs.map((r) => `rnx runtime unpin ${r}`).join(' and ')}`,
      );
    }
    for (const e of targets) {
      // Unpublish first: from here on no agent installs it and no build answers cached.
      await this.store.delete(indexKey(e.name, e.version));
      for (const a of Object.values(e.arches))
        if (a) await this.store.delete(buildPointerKey(a.buildKey));
      await this.store.deletePrefix(runtimePrefix(e.name, e.version));
      await this.store.delete(pinKey(e.name, e.version)); // a pin written since the check
      await appendEvent(this.redis, this.keys.farmEvents, {
        type: 'runtime.removed',
        name: e.name,
        version: e.version,
      });
    }
    return targets.map((e) => ({ name: e.name, version: e.version }));
  }
}

export function summarize(
  e: RuntimeIndexEntry,
  nodes: NodeView[],
  pins: PinMap = new Map(),
): RuntimeSummary {
  const arches = Object.keys(e.arches) as Arch[];
  const relevant = nodes.filter((n) => n.online && arches.includes(n.arch));
  const installed = relevant.filter((n) =>
    n.runtimes.some(
      (r) =>
        r.name === e.name &&
        r.version === e.version &&
        r.state === 'installed' &&
        // After a forced rebuild a node still holding the old tree is not "installed" yet.
        (r.treeHash === undefined || r.treeHash === e.arches[n.arch]?.treeHash),
    ),
  ).length;
  return {
    name: e.name,
    version: e.version,
    language: e.language,
    languageVersion: e.languageVersion,
    description: e.description,
    arches,
    treeBytes: Object.fromEntries(arches.map((a) => [a, e.arches[a]?.treeBytes ?? 0])),
    artifactBytes: Object.fromEntries(arches.map((a) => [a, e.arches[a]?.size ?? 0])),
    nodes: { installed, total: relevant.length },
    publishedAt: e.publishedAt,
    ...(pins.has(`${e.name}@${e.version}`) && { pinned: pins.get(`${e.name}@${e.version}`) }),
  };
}
