/**
 * Diagnostics as GitHub Actions workflow commands (`rnx runtime validate --format github`): one
 * `::error file=…,line=…,col=…,title=…::message` line per diagnostic, which the runner turns into
 * an annotation on that line of the pull request's diff. Values are escaped as the runner's
 * toolkit does (`%`, CR and LF in the message; also `:` and `,` in properties).
 */
import type { DiagnosticBody } from '@joblet/spec';

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function githubAnnotation(d: DiagnosticBody): string {
  const props = [
    `file=${escapeProperty(d.file)}`,
    `line=${d.line}`,
    `col=${d.column}`,
    `title=${escapeProperty(`runtime.yaml ${d.code}${d.path ? ` at ${d.path}` : ''}`)}`,
  ];
  return `::${d.severity} ${props.join(',')}::${escapeData(d.message)}`;
}
