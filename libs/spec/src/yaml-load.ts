/**
 * Safe YAML loading shared by runtime.yaml, runtime.yml and catalog files: text guards, a parser
 * driven token by token so that nesting depth and token count are capped before the (recursive)
 * composer runs, one document only, no directives, and conversion to plain data with a position
 * for every node.
 */
import { Composer, Lexer, LineCounter, Parser, type CST, type Node } from 'yaml';
import { MAX_YAML_DEPTH, MAX_YAML_TOKENS } from './constants.js';
import { DiagnosticCodes, ROOT_PATH, type Diagnostic } from './diagnostic.js';
import { SourceLocator } from './source-locator.js';
import { decodeSpecText } from './text-guard.js';
import { buildTree, type TreeOptions, type YamlTree } from './yaml-tree.js';

export interface LoadOptions extends TreeOptions {
  file: string;
  maxBytes: number;
  /** What the file is, for messages, e.g. "a runtime spec". */
  what: string;
  /** A few of its top-level keys, for the message when the top level is not a mapping. */
  exampleKeys: string;
}

export interface LoadedYaml {
  /** False when there is no usable value; `errors` then say why. */
  ok: boolean;
  value: unknown;
  tree?: YamlTree;
  locator: SourceLocator;
  errors: Diagnostic[];
}

const TAB_HINT = ' (YAML indents with spaces, never tabs)';

type ParseOutcome = { tokens: CST.Token[] } | { stoppedAt: number; reason: 'depth' | 'tokens' };

/**
 * Lexes and parses to CST tokens, giving up as soon as nesting exceeds the depth limit or the
 * number of tokens exceeds the budget: both keep hostile input from costing more than a real spec.
 */
function parseTokens(text: string, lineCounter: LineCounter): ParseOutcome {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  let lexemes = 0;
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // One parser stack entry per open collection; deep input is also quadratic in the parser.
    if (parser.stack.length > MAX_YAML_DEPTH) return { stoppedAt: parser.offset, reason: 'depth' };
    if (++lexemes > MAX_YAML_TOKENS) return { stoppedAt: parser.offset, reason: 'tokens' };
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

/**
 * Composes CST tokens into the (single) document. The YAML library reports each problem as an
 * Error, and capturing stack traces dominates its cost on garbage input (about 1 s for 150,000
 * errors), so stack capture is off during this synchronous call.
 */
function compose(tokens: CST.Token[], length: number) {
  const composer = new Composer({
    version: '1.2',
    schema: 'core',
    strict: true,
    // Duplicate keys are found (linearly) by the tree builder, which also says where the first was.
    uniqueKeys: false,
    merge: false,
    intAsBigInt: false,
  });
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return [...composer.compose(tokens, true, length)][0];
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'nothing (null)';
  return `a ${typeof value} (${String(JSON.stringify(value)).slice(0, 40)})`;
}

/**
 * Loads one YAML document into plain data. Never throws for any input: every problem becomes a
 * positioned diagnostic.
 */
export function loadYaml(source: string | Uint8Array, options: LoadOptions): LoadedYaml {
  const decoded = decodeSpecText(source, options.maxBytes);
  if (!decoded.ok) {
    const error: Diagnostic = {
      severity: 'error',
      file: options.file,
      path: ROOT_PATH,
      ...decoded.problem,
    };
    return {
      ok: false,
      value: undefined,
      locator: new SourceLocator(options.file),
      errors: [error],
    };
  }
  const text = decoded.text;
  const lineCounter = new LineCounter();
  const locator = new SourceLocator(options.file, lineCounter);
  const fail = (errors: Diagnostic[]): LoadedYaml => ({
    ok: false,
    value: undefined,
    locator,
    errors,
  });
  const failAt = (code: string, offset: number, message: string) =>
    fail([locator.atOffset('error', code, offset, [], message)]);
  const emptyMessage = `the file is empty (or only comments); ${options.what} is a mapping with ${options.exampleKeys}`;

  const parsed = parseTokens(text, lineCounter);
  if ('stoppedAt' in parsed) {
    return parsed.reason === 'depth'
      ? failAt(
          DiagnosticCodes.TOO_DEEP,
          parsed.stoppedAt,
          `the document is nested more than ${MAX_YAML_DEPTH} levels deep; ${options.what} needs only a few`,
        )
      : failAt(
          DiagnosticCodes.TOO_COMPLEX,
          parsed.stoppedAt,
          `the document has more than ${MAX_YAML_TOKENS} YAML tokens by here; ${options.what} is far smaller`,
        );
  }
  const documents = parsed.tokens.filter((t) => t.type === 'document');
  const second = documents[1];
  if (second) {
    return failAt(
      DiagnosticCodes.MULTIPLE_DOCUMENTS,
      second.offset,
      `a second YAML document starts here; ${options.what} is a single document (remove the "---" line and what follows, or split the file)`,
    );
  }
  const directive = parsed.tokens.find((t) => t.type === 'directive');
  if (directive) {
    return failAt(
      DiagnosticCodes.YAML_DIRECTIVE,
      directive.offset,
      'YAML directives (%YAML, %TAG) are not supported',
    );
  }

  const doc = compose(parsed.tokens, text.length);
  if (!doc) return failAt(DiagnosticCodes.EMPTY, 0, emptyMessage);
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((e) =>
        locator.atOffset(
          'error',
          DiagnosticCodes.YAML_SYNTAX,
          e.pos[0],
          [],
          `YAML syntax: ${e.message}${e.code === 'TAB_AS_INDENT' ? TAB_HINT : ''}`,
        ),
      ),
    );
  }
  const root = doc.contents as Node | null;
  if (root === null || root === undefined) return failAt(DiagnosticCodes.EMPTY, 0, emptyMessage);
  const tree = buildTree(root, text, locator, locator.spans, options);
  if (tree.value === undefined) return fail(tree.errors);
  if (tree.value === null && root.range?.[0] === root.range?.[1]) {
    return failAt(DiagnosticCodes.EMPTY, 0, emptyMessage);
  }
  if (tree.value === null || typeof tree.value !== 'object' || Array.isArray(tree.value)) {
    return fail([
      locator.atPath(
        'error',
        DiagnosticCodes.NOT_A_MAPPING,
        [],
        `${options.what} is a mapping of keys (${options.exampleKeys}); this file holds ${kindOf(tree.value)}`,
      ),
    ]);
  }
  return { ok: true, value: tree.value, tree, locator, errors: tree.errors };
}
