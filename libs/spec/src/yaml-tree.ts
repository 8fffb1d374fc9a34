/**
 * Converts a composed YAML document into plain JSON-like data while recording where every value
 * came from. Anything a runtime spec has no use for and that could surprise a reader (aliases,
 * custom tags, non-string keys, duplicate keys, numbers that YAML silently changes) is reported
 * here, at the node, instead of being passed on.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { DiagnosticCodes, formatPath, quote, type PathSegment } from './diagnostic.js';
import type { SourceLocator, SpanMap } from './source-locator.js';
import type { Diagnostic } from './diagnostic.js';

/** Tags that only restate what YAML already infers; any other explicit tag is rejected. */
const PLAIN_TAGS = new Set([
  '!',
  'tag:yaml.org,2002:str',
  'tag:yaml.org,2002:int',
  'tag:yaml.org,2002:float',
  'tag:yaml.org,2002:bool',
  'tag:yaml.org,2002:null',
  'tag:yaml.org,2002:map',
  'tag:yaml.org,2002:seq',
]);

/** Deepest value accepted; the parser's own limit is tighter, this guards the recursion here. */
const MAX_DEPTH = 64;

export interface TreeOptions {
  /**
   * Paths whose unquoted numbers and booleans are read as the text the user wrote (`3.11` →
   * "3.11"), as long as YAML reads them without change; `3.10` (which YAML reads as 3.1) is an
   * error asking for quotes.
   */
  coerce?: (path: readonly PathSegment[]) => boolean;
  /**
   * What a coerced value that YAML changes (`3.10` → 3.1) becomes: `error` (default) asks for
   * quotes; `warn` takes the text as written (its source range) and warns, naming the quoting.
   */
  lossy?: 'error' | 'warn';
}

export interface YamlTree {
  value: unknown;
  /** Paths (formatted) already reported here; schema issues at or below them are not repeated. */
  reported: Set<string>;
  errors: Diagnostic[];
  /** Values taken as written although YAML reads them otherwise (`lossy: 'warn'`). */
  warnings: Diagnostic[];
}

function rangeOf(node: Node | null | undefined): [number, number] {
  const r = node?.range;
  return r ? [r[0], r[1]] : [0, 0];
}

/** Defines an own property even for `__proto__`, so no key can reach an object's prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

class TreeBuilder {
  readonly reported = new Set<string>();
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  constructor(
    private readonly source: string,
    private readonly locator: SourceLocator,
    private readonly spans: SpanMap,
    private readonly options: TreeOptions,
  ) {}

  /** Records an error; unless `suppress` is false, later schema issues at or under `path` are dropped. */
  private report(
    code: string,
    offset: number,
    path: readonly PathSegment[],
    message: string,
    suppress = true,
  ) {
    if (suppress) this.reported.add(formatPath(path));
    this.errors.push(this.locator.atOffset('error', code, offset, path, message));
  }

  convert(node: Node | null | undefined, path: PathSegment[], depth: number): unknown {
    if (node === null || node === undefined) return null;
    const [start] = rangeOf(node);
    if (depth > MAX_DEPTH) {
      this.report(DiagnosticCodes.TOO_DEEP, start, path, `nested more than ${MAX_DEPTH} levels`);
      return undefined;
    }
    if (isAlias(node)) {
      this.report(
        DiagnosticCodes.YAML_ALIAS,
        start,
        path,
        `YAML aliases (*${node.source}) are not supported in this file; write the value out`,
      );
      return undefined;
    }
    if (node.tag !== undefined && !PLAIN_TAGS.has(node.tag)) {
      this.report(
        DiagnosticCodes.YAML_TAG,
        start,
        path,
        `YAML tag ${quote(node.tag)} is not supported; only plain values (and !!str) are allowed`,
      );
      return undefined;
    }
    if (isScalar(node)) return this.scalar(node.value, node, path);
    if (isMap(node)) return this.map(node.items, path, depth);
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        const childPath = [...path, i];
        if (isPair(item)) {
          this.report(
            DiagnosticCodes.BAD_KEY,
            rangeOf(item.key as Node)[0],
            childPath,
            'a "key: value" pair inside [ ] is not allowed here; write {key: value}',
          );
          out.push(undefined);
          return;
        }
        const child = item as Node | null;
        this.spans.set(formatPath(childPath), { value: rangeOf(child) });
        out.push(this.convert(child, childPath, depth + 1));
      });
      return out;
    }
    this.report(DiagnosticCodes.YAML_TAG, start, path, 'unsupported YAML value');
    return undefined;
  }

  private scalar(value: unknown, node: Node, path: PathSegment[]): unknown {
    if (typeof value === 'string' || value === null) return value;
    if (typeof value === 'number' || typeof value === 'boolean') {
      if (!this.options.coerce?.(path)) return value;
      const [start, end] = rangeOf(node);
      const written = this.source.slice(start, end);
      if (String(value) === written) return written;
      if (this.options.lossy === 'warn') {
        const key = path.at(-1);
        const quoted = typeof key === 'string' ? `${key}: "${written}"` : `"${written}"`;
        this.warnings.push(
          this.locator.atOffset(
            'warning',
            DiagnosticCodes.LOSSY_NUMBER,
            start,
            path,
            `${written} is read by YAML as the ${typeof value} ${String(value)}; taken as written ("${written}"), but write it quoted so every YAML reader agrees: ${quoted}`,
          ),
        );
        return written;
      }
      this.report(
        DiagnosticCodes.LOSSY_NUMBER,
        start,
        path,
        `${written} is read by YAML as the ${typeof value} ${String(value)}; quote it to keep it as written: "${written}"`,
      );
      return undefined;
    }
    this.report(DiagnosticCodes.YAML_TAG, rangeOf(node)[0], path, 'unsupported YAML value');
    return undefined;
  }

  private keyText(pair: Pair): string | undefined {
    const key = pair.key as Node | null;
    if (!isScalar(key) || key.value === null) return undefined;
    if (key.tag !== undefined && !PLAIN_TAGS.has(key.tag)) return undefined;
    if (typeof key.value === 'string') return key.value;
    // A number or boolean used as a key (`3.11: …`) is taken as written.
    const [start, end] = rangeOf(key);
    return this.source.slice(start, end);
  }

  private map(items: Pair[], path: PathSegment[], depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const firstSeen = new Map<string, number>();
    for (const pair of items) {
      const keyNode = pair.key as Node | null;
      const keyRange = rangeOf(keyNode);
      const key = this.keyText(pair);
      if (key === undefined) {
        this.report(
          DiagnosticCodes.BAD_KEY,
          keyRange[0],
          path,
          'mapping keys must be plain words such as "name" or "pip"',
          false,
        );
        continue;
      }
      const childPath = [...path, key];
      if (key === '__proto__') {
        // Schema parsers drop this key silently (it names an object's prototype); say so instead.
        this.report(
          DiagnosticCodes.BAD_KEY,
          keyRange[0],
          childPath,
          '"__proto__" cannot be used as a key',
        );
        continue;
      }
      const first = firstSeen.get(key);
      if (first !== undefined) {
        const { line } = this.locator.positionOf(first);
        this.errors.push(
          this.locator.atOffset(
            'error',
            DiagnosticCodes.DUPLICATE_KEY,
            keyRange[0],
            childPath,
            `duplicate key ${quote(key)} (first defined on line ${line}); the first one is used`,
          ),
        );
        continue;
      }
      firstSeen.set(key, keyRange[0]);
      const valueNode = pair.value as Node | null;
      let valueRange = rangeOf(valueNode);
      // `key:` with nothing after it: point at the key, not at the empty spot after the colon.
      if (!valueNode || valueRange[0] === valueRange[1]) valueRange = keyRange;
      this.spans.set(formatPath(childPath), { key: keyRange, value: valueRange });
      setOwn(out, key, this.convert(valueNode, childPath, depth + 1));
    }
    return out;
  }
}

/**
 * Converts `root` (a composed document's contents) to plain data. `spans` is filled with the
 * position of every key and value, keyed by formatted path.
 */
export function buildTree(
  root: Node | null,
  source: string,
  locator: SourceLocator,
  spans: SpanMap,
  options: TreeOptions = {},
): YamlTree {
  const builder = new TreeBuilder(source, locator, spans, options);
  spans.set(formatPath([]), { value: rangeOf(root) });
  const value = builder.convert(root, [], 0);
  return {
    value,
    reported: builder.reported,
    errors: builder.errors,
    warnings: builder.warnings,
  };
}
