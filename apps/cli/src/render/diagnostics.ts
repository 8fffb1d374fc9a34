/** Rendering of spec diagnostics and summaries in the guide's style (✓ / ✗ / ⚠). */
import type { DiagnosticBody, SpecSummary } from '@joblet/spec';
import { formatDiagnostic } from '@joblet/spec';
import { paint, type Io } from '../io.js';

export function renderDiagnostic(io: Io, d: DiagnosticBody, indent = ''): string {
  const mark = d.severity === 'error' ? paint(io, 'red', '✗') : paint(io, 'yellow', '⚠');
  return `${indent}${mark} ${formatDiagnostic(d)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function renderSummary(io: Io, s: SpecSummary): string[] {
  const row = (k: string, v: string) => `  ${paint(io, 'dim', k.padEnd(15))}${v}`;
  const lines = [row('Runtime:', `${s.name} ${s.version}`)];
  if (s.description) lines.push(row('Description:', s.description));
  lines.push(
    row('Base:', `${s.language} ${s.languageVersion}${s.base ? ` (${s.base})` : ''}`),
    row('Architectures:', s.architectures.join(', ')),
    row(
      'Packages:',
      `pip ${s.counts.pip}, npm ${s.counts.npm}, apt ${s.counts.apt}; ` +
        `${plural(s.counts.libraries, 'library pattern')}; ${plural(s.counts.environment, 'env var')}`,
    ),
    row('Hooks:', s.hooks.length ? s.hooks.join(', ') : 'none'),
  );
  return lines;
}

export function countLine(errors: number, warnings: number): string {
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}
