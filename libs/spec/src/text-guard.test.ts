import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSpecText, firstInvalidUtf8, positionAt } from './text-guard.js';

describe('firstInvalidUtf8', () => {
  it('agrees with a strict decoder on random bytes', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let valid = true;
        try {
          strict.decode(bytes);
        } catch {
          valid = false;
        }
        expect(firstInvalidUtf8(bytes) === -1).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(firstInvalidUtf8(new TextEncoder().encode(s))).toBe(-1);
      }),
    );
  });
});

describe('decodeSpecText', () => {
  it('strips a byte-order mark from strings and bytes', () => {
    expect(decodeSpecText('\ufeffa: 1', 100)).toEqual({ ok: true, text: 'a: 1' });
    expect(decodeSpecText(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]), 100)).toEqual({
      ok: true,
      text: 'a',
    });
  });

  it('allows tabs, CR, LF and NEL but no other controls', () => {
    expect(decodeSpecText('a:\t1\r\n\u0085', 100).ok).toBe(true);
    for (const c of ['\u0001', '\u001b', '\u007f', '\u0090', '\uffff']) {
      expect(decodeSpecText(`a: ${c}`, 100)).toMatchObject({
        ok: false,
        problem: { code: 'BINARY', line: 1, column: 4 },
      });
    }
  });

  it('reports positions', () => {
    expect(positionAt('ab\ncd\nef', 7)).toEqual({ line: 3, column: 2 });
    expect(positionAt('', 0)).toEqual({ line: 1, column: 1 });
  });
});
