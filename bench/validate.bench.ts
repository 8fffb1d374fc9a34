/**
 * validateRuntimeSpec latency, in-process: the example specs (target p50 < 2 ms), a spec just
 * under the 256 KiB limit and one just over, an alias bomb, a deeply nested document and the
 * worst 256 KiB shapes for the YAML library (each target < 50 ms). Figures are milliseconds per
 * call.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_SPEC_BYTES, validateRuntimeSpec } from '@joblet/spec';
import { percentiles, sample } from './stats.js';

const examplesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');

const BASE = `schema_version: "1.0"
name: big
version: 1.0.0
description: a spec near the size limit
base:
  language: python
  version: "3.11"
`;

/**
 * A valid spec of exactly `bytes` bytes: 900 pip requirements with markers, 200 environment
 * variables, a 60 KiB hook, then comments up to the size.
 */
function largeSpec(bytes: number): string {
  const pip = Array.from(
    { length: 900 },
    (_, i) => `  - package-${i}>=1.${i},<2; python_version >= "3.9"`,
  );
  const env = Array.from({ length: 200 }, (_, i) => `  VAR_${i}: "${'v'.repeat(400)}"`);
  const hook = `    echo "post-install step with some padding text to fill the hook"\n`.repeat(900);
  let text = `${BASE}pip:\n${pip.join('\n')}\nenvironment:\n${env.join('\n')}\nhooks:\n  timeout: 10m\n  post_install: |\n${hook}`;
  const comment = `# ${'-'.repeat(77)}\n`;
  while (Buffer.byteLength(text) + comment.length <= bytes) text += comment;
  return `${text}#${' '.repeat(bytes - Buffer.byteLength(text) - 2)}\n`;
}

/** `line(i)` repeated while the text stays within `bytes`. */
function fillTo(bytes: number, line: (i: number) => string): string {
  let text = '';
  for (let i = 0; ; i++) {
    const next = line(i);
    if (text.length + next.length > bytes) return text;
    text += next;
  }
}

/** The classic "billion laughs" document: 9 levels of 9 aliases. */
function aliasBomb(): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= 9; i++) {
    lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

function measure(source: string | Uint8Array, n: number, warmup = 50) {
  const first = validateRuntimeSpec(source);
  const stats = percentiles(sample(() => validateRuntimeSpec(source), n, warmup));
  return {
    bytes: typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength,
    ok: first.ok,
    errors: [...new Set(first.errors.map((e) => e.code))],
    ...stats,
  };
}

function figures(): Record<string, unknown> {
  const examples: Record<string, unknown> = {};
  for (const name of readdirSync(examplesDir).sort()) {
    let text: string;
    try {
      text = readFileSync(join(examplesDir, name, 'runtime.yaml'), 'utf8');
    } catch {
      continue;
    }
    examples[name] = measure(text, 2000, 200);
  }
  const underLimit = largeSpec(MAX_SPEC_BYTES);
  const overLimit = `${underLimit}#`;
  return {
    targets: { examplesP50Ms: 2, hostileMs: 50 },
    examples,
    spec256KiB: measure(underLimit, 100, 10),
    spec256KiBBytes: measure(new TextEncoder().encode(underLimit), 100, 10),
    overLimit: measure(overLimit, 2000),
    overLimitBytes: measure(new TextEncoder().encode(overLimit), 2000),
    aliasBomb: measure(aliasBomb(), 2000),
    nested10kBrackets: measure('['.repeat(10_000), 500),
    // Worst shapes for the YAML library: many tiny tokens, or an error on every line.
    manyKeys256KiB: measure(
      fillTo(MAX_SPEC_BYTES, (i) => `key${i}: 1\n`),
      100,
      10,
    ),
    syntaxErrors256KiB: measure(
      fillTo(MAX_SPEC_BYTES, () => '- a: b\n: : -\n'),
      100,
      10,
    ),
    invalidUtf8: measure(Uint8Array.from([0x61, 0x3a, 0x20, 0xff]), 2000),
  };
}

/** The bench runner's entry point; the measurements themselves are synchronous. */
export function run(): Promise<Record<string, unknown>> {
  return Promise.resolve(figures());
}
