/**
 * Turns field paths and source offsets into file:line:column, so every diagnostic points at the
 * node it is about, whichever stage (text guard, YAML, schema, warnings) produced it.
 */
import type { LineCounter } from 'yaml';
import { formatPath, type Diagnostic, type PathSegment, type Severity } from './diagnostic.js';

/** Source offsets of one node: its key (for mapping entries) and its value, `[start, end)`. */
export interface NodeSpan {
  key?: [number, number];
  value: [number, number];
}

/** Where in a node a diagnostic points: unknown keys and bad names point at the key. */
export type Anchor = 'key' | 'value';

export interface Position {
  line: number;
  column: number;
}

/** Maps formatted field paths to the spans of their nodes. */
export type SpanMap = Map<string, NodeSpan>;

export class SourceLocator {
  constructor(
    readonly file: string,
    private readonly lineCounter?: LineCounter,
    readonly spans: SpanMap = new Map(),
  ) {}

  /** 1-based position of a source offset (1:1 when no source was parsed). */
  positionOf(offset: number): Position {
    if (!this.lineCounter) return { line: 1, column: 1 };
    const { line, col } = this.lineCounter.linePos(Math.max(0, offset));
    return { line: Math.max(1, line), column: Math.max(1, col) };
  }

  /**
   * Position of the node at `path`, or of its nearest ancestor that exists in the source (a
   * missing key is reported at the mapping that should hold it).
   */
  positionOfPath(path: readonly PathSegment[], anchor: Anchor = 'value'): Position {
    for (let n = path.length; n >= 0; n--) {
      const span = this.spans.get(formatPath(path.slice(0, n)));
      if (!span) continue;
      const range = anchor === 'key' && n === path.length && span.key ? span.key : span.value;
      return this.positionOf(range[0]);
    }
    return { line: 1, column: 1 };
  }

  /** A diagnostic about the node at `path`. */
  atPath(
    severity: Severity,
    code: string,
    path: readonly PathSegment[],
    message: string,
    anchor: Anchor = 'value',
  ): Diagnostic {
    const pos = this.positionOfPath(path, anchor);
    return { severity, code, file: this.file, ...pos, path: formatPath(path), message };
  }

  /** A diagnostic about a source offset (YAML syntax errors, bad bytes). */
  atOffset(
    severity: Severity,
    code: string,
    offset: number,
    path: readonly PathSegment[],
    message: string,
  ): Diagnostic {
    const pos = this.positionOf(offset);
    return { severity, code, file: this.file, ...pos, path: formatPath(path), message };
  }
}
