/**
 * What the garbage collector would remove, decided from a snapshot of the store (every object
 * with its size and time) and what is in use — no I/O here, so the rules are easy to read and
 * test. Kinds and reasons: see `GcItemKind` in `@joblet/spec`.
 *
 * Safety rules, all of them conservative:
 * - a version is only removed when it is beyond the newest N of its runtime *and* no unfinished
 *   job or build names it *and* no operator pinned it; versions that are not semver are never
 *   ordered, so never removed;
 * - an object written within the grace period is never an orphan: a publisher copies artifacts to
 *   `runtimes/` and writes pointers before it writes the index entry that references them;
 * - staging of a build in flight is kept; staging of an unknown build only after the grace;
 * - a base root goes only when no published runtime was built on its suite and arch and it was
 *   last written longer ago than the base retention.
 */
import {
  BuildPointer,
  compareSemver,
  isSemver,
  type GcItem,
  type RuntimeIndexEntry,
} from '@joblet/spec';
import {
  StorePrefix,
  buildPointerKey,
  indexKey,
  runtimeAttachmentKey,
  runtimePrefix,
  type ObjectInfo,
} from '@joblet/storage';
import { ATTACHMENT_FILES } from '@joblet/artifact';

export interface GcSnapshot {
  now: number;
  /** Published entries (parsed index files). */
  entries: RuntimeIndexEntry[];
  /** Every object of the store by key. */
  objects: Map<string, ObjectInfo>;
  /** Parsed `builds/*.json` pointers by key (unparseable ones are absent: never touched). */
  pointers: Map<string, BuildPointer>;
  /** `name@version` of unfinished jobs and builds. */
  inUse: Set<string>;
  /** `name@version` of pinned versions (`rnx runtime pin`): never removed. */
  pinned: ReadonlySet<string>;
  /** Staging build ids → whether a build record exists and whether it finished. */
  stagingBuilds: Map<string, { known: boolean; final?: string }>;
}

export interface GcRules {
  keepVersions: number;
  baseUnusedDays: number;
  /** Objects younger than this (seconds) are never orphans. */
  graceS: number;
}

/** A planned removal; `version` items carry the entry so it can be removed like `remove` does. */
export type GcPlanItem = GcItem & { entry?: RuntimeIndexEntry; prefix?: string };

const DAY_MS = 24 * 3600 * 1000;

function sizeUnder(objects: Map<string, ObjectInfo>, prefix: string): number {
  let n = 0;
  for (const [key, o] of objects) if (key.startsWith(prefix)) n += o.size;
  return n;
}

function groupBy(objects: Map<string, ObjectInfo>, prefix: string, depth: number) {
  const groups = new Map<string, { bytes: number; newest: number }>();
  for (const [key, o] of objects) {
    if (!key.startsWith(prefix)) continue;
    const parts = key.split('/');
    if (parts.length <= depth) continue;
    const g = `${parts.slice(0, depth).join('/')}/`;
    const cur = groups.get(g) ?? { bytes: 0, newest: 0 };
    cur.bytes += o.size;
    cur.newest = Math.max(cur.newest, o.lastModified.getTime());
    groups.set(g, cur);
  }
  return groups;
}

/** Versions beyond the newest `keep` of each runtime that nothing in flight uses. */
function oldVersions(snap: GcSnapshot, rules: GcRules): GcPlanItem[] {
  const byName = new Map<string, RuntimeIndexEntry[]>();
  for (const e of snap.entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  const out: GcPlanItem[] = [];
  for (const [name, all] of byName) {
    const ordered = all.filter((e) => isSemver(e.version));
    ordered.sort((a, b) => compareSemver(b.version, a.version));
    const newest = ordered[0]?.version;
    for (const e of ordered.slice(rules.keepVersions)) {
      const ref = `${e.name}@${e.version}`;
      if (snap.inUse.has(ref) || snap.pinned.has(ref)) continue;
      const pointers = Object.values(e.arches).map((a) => (a ? buildPointerKey(a.buildKey) : ''));
      const bytes =
        sizeUnder(snap.objects, runtimePrefix(e.name, e.version)) +
        (snap.objects.get(indexKey(e.name, e.version))?.size ?? 0) +
        pointers.reduce((n, k) => n + (snap.objects.get(k)?.size ?? 0), 0);
      out.push({
        kind: 'version',
        key: `${name}@${e.version}`,
        bytes,
        reason: `older than the newest ${rules.keepVersions} versions of ${name} (newest ${newest})`,
        entry: e,
      });
    }
  }
  return out;
}

export function planGc(snap: GcSnapshot, rules: GcRules): GcPlanItem[] {
  const graceMs = rules.graceS * 1000;
  const old = (o: { lastModified: Date } | number) =>
    snap.now - (typeof o === 'number' ? o : o.lastModified.getTime()) > graceMs;
  const versions = oldVersions(snap, rules);
  const removed = new Set(versions.map((v) => v.key));
  const kept = snap.entries.filter((e) => !removed.has(`${e.name}@${e.version}`));
  const gonePrefixes = versions.map((v) => runtimePrefix(v.entry!.name, v.entry!.version));
  const gonePointers = new Set(
    versions.flatMap((v) =>
      Object.values(v.entry!.arches).map((a) => (a ? buildPointerKey(a.buildKey) : '')),
    ),
  );

  // Artifacts: under runtimes/, referenced by no kept entry.
  // The SBOMs and provenance beside an archive go with it (its manifest lists them).
  const referenced = new Set(
    kept.flatMap((e) =>
      Object.values(e.arches).flatMap((a) =>
        a
          ? [
              a.archiveKey,
              a.manifestKey,
              ...Object.values(ATTACHMENT_FILES).map((f) =>
                runtimeAttachmentKey(e.name, e.version, a.arch, f),
              ),
            ]
          : [],
      ),
    ),
  );
  const artifacts: GcPlanItem[] = [];
  for (const [key, o] of snap.objects) {
    if (!key.startsWith(StorePrefix.RUNTIMES) || referenced.has(key)) continue;
    if (gonePrefixes.some((p) => key.startsWith(p)) || !old(o)) continue;
    const [, name, version] = key.split('/');
    if (snap.inUse.has(`${name}@${version}`)) continue;
    artifacts.push({
      kind: 'artifact',
      key,
      bytes: o.size,
      reason: 'no index entry references it',
    });
  }

  // Cache pointers whose manifest is gone (or goes with a removed version).
  const pointers: GcPlanItem[] = [];
  for (const [key, p] of snap.pointers) {
    if (gonePointers.has(key)) continue;
    const o = snap.objects.get(key);
    if (!o || !old(o)) continue;
    const manifestGone =
      !snap.objects.has(p.manifestKey) || gonePrefixes.some((g) => p.manifestKey.startsWith(g));
    if (manifestGone)
      pointers.push({
        kind: 'pointer',
        key,
        bytes: o.size,
        reason: `points at ${p.manifestKey}, which does not exist`,
      });
  }

  // Staging of builds that are not in flight.
  const staging: GcPlanItem[] = [];
  for (const [prefix, g] of groupBy(snap.objects, StorePrefix.STAGING, 2)) {
    const id = prefix.split('/')[1] ?? '';
    const build = snap.stagingBuilds.get(id) ?? { known: false };
    let reason: string | undefined;
    if (build.known && build.final) reason = `build ${id} finished (${build.final})`;
    else if (!build.known && old(g.newest))
      reason = `no record of build ${id} (expired or never recorded); untouched for over ${Math.round(rules.graceS / 60)} min`;
    if (reason) staging.push({ kind: 'staging', key: prefix, bytes: g.bytes, reason, prefix });
  }

  // Base roots no kept runtime was built on, untouched for longer than the base retention.
  // An entry that does not record its suite (an older builder) could use any base of its arch.
  const used = new Set(
    kept.flatMap((e) =>
      Object.entries(e.arches).map(
        ([arch, a]) => `${a?.runtimeYml.build_info.suite ?? '*'}/${arch}`,
      ),
    ),
  );
  const bases: GcPlanItem[] = [];
  for (const [prefix, g] of groupBy(snap.objects, StorePrefix.BASES, 4)) {
    const [, , suite, arch] = prefix.split('/');
    if (used.has(`${suite}/${arch}`) || used.has(`*/${arch}`)) continue;
    const days = (snap.now - g.newest) / DAY_MS;
    if (days <= rules.baseUnusedDays) continue;
    bases.push({
      kind: 'base',
      key: prefix,
      bytes: g.bytes,
      reason: `no published runtime is built on ${suite}/${arch}; last written ${Math.floor(days)} days ago`,
      prefix,
    });
  }
  return [...versions, ...artifacts, ...pointers, ...staging, ...bases];
}

/** Parses a pointer file's JSON; undefined when it is not a pointer (it is then left alone). */
export function parsePointer(raw: unknown): BuildPointer | undefined {
  const parsed = BuildPointer.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
