/**
 * The checks that run before any YAML parsing: size, UTF-8 and binary content. They are linear
 * scans, so hostile input is rejected in time proportional to its (already bounded) size.
 */
import { DiagnosticCodes, type DiagnosticCode } from './diagnostic.js';

/** A problem found before parsing, positioned in the text. */
export interface TextProblem {
  code: DiagnosticCode;
  line: number;
  column: number;
  message: string;
}

export type DecodedText = { ok: true; text: string } | { ok: false; problem: TextProblem };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// Characters YAML does not allow in a stream (C0/C1 controls other than tab, LF, CR and NEL, and
// the non-characters U+FFFE/U+FFFF). A NUL almost always means a binary file.
const FORBIDDEN_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function formatSize(bytes: number): string {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes)` : `${bytes} bytes`;
}

function tooLarge(size: number, maxBytes: number, atLeast = false): TextProblem {
  const got = `${atLeast ? 'at least ' : ''}${formatSize(size)}`;
  return {
    code: DiagnosticCodes.TOO_LARGE,
    line: 1,
    column: 1,
    message: `the file is ${got}; a runtime spec may be at most ${formatSize(maxBytes)}`,
  };
}

/** 1-based line and column (in UTF-16 units) of `offset` in `text`. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Index of the first byte that starts an invalid UTF-8 sequence, or -1 when all are valid. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

function encodingProblem(bytes: Uint8Array, bad: number): TextProblem {
  // lastIndexOf with a negative fromIndex counts from the end: a bad first byte is line 1.
  const lineStart = bad === 0 ? 0 : bytes.lastIndexOf(0x0a, bad - 1) + 1;
  const line = bytes.subarray(0, lineStart).filter((b) => b === 0x0a).length + 1;
  const column = new TextDecoder().decode(bytes.subarray(lineStart, bad)).length + 1;
  const hex = (bytes[bad] ?? 0).toString(16).padStart(2, '0');
  return {
    code: DiagnosticCodes.ENCODING,
    line,
    column,
    message: `invalid UTF-8 (byte 0x${hex} at offset ${bad}); a runtime spec must be UTF-8 text`,
  };
}

function scanText(text: string): TextProblem | undefined {
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate) {
    return {
      code: DiagnosticCodes.ENCODING,
      ...positionAt(text, surrogate.index),
      message: 'unpaired UTF-16 surrogate; a runtime spec must be valid Unicode text',
    };
  }
  const bad = FORBIDDEN_CHAR.exec(text);
  if (bad) {
    const cp = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    const what =
      cp === '0000' ? 'a NUL byte: this looks like a binary file' : 'a control character';
    return {
      code: DiagnosticCodes.BINARY,
      ...positionAt(text, bad.index),
      message: `U+${cp} is ${what}; a runtime spec is YAML text (tabs and newlines are the only control characters allowed)`,
    };
  }
  return undefined;
}

/**
 * Turns raw input into checked text: at most `maxBytes` of UTF-8, no byte-order mark, no binary
 * content. Bytes are decoded strictly; strings are measured in UTF-8 bytes.
 */
export function decodeSpecText(source: string | Uint8Array, maxBytes: number): DecodedText {
  let text: string;
  if (typeof source === 'string') {
    // UTF-8 never takes fewer bytes than UTF-16 code units, so a long string fails without counting.
    if (source.length > maxBytes) {
      return { ok: false, problem: tooLarge(source.length, maxBytes, true) };
    }
    const size = Buffer.byteLength(source, 'utf8');
    if (size > maxBytes) return { ok: false, problem: tooLarge(size, maxBytes) };
    text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  } else {
    if (source.byteLength > maxBytes) {
      return { ok: false, problem: tooLarge(source.byteLength, maxBytes) };
    }
    try {
      text = strictUtf8.decode(source); // also drops a leading byte-order mark
    } catch {
      return { ok: false, problem: encodingProblem(source, Math.max(0, firstInvalidUtf8(source))) };
    }
  }
  const problem = scanText(text);
  return problem ? { ok: false, problem } : { ok: true, text };
}
