/**
 * The guide users read first (docs/joblet-runtime-system-guide.md, Joblet's Runtime System Guide)
 * as steps, top to bottom: each `rnx` command line (placeholders such as `<runtime-name>` filled
 * in with real values), and each runtime.yaml the guide has the reader write (its
 * `cat > runtime.yaml << 'EOF'` heredocs and the `# runtime.yaml` block of its custom runtime
 * example). Shared by guide-commands.e2e.test.ts (every line parses) and guide-walk.e2e.test.ts
 * (every line runs against a farm).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const GUIDE = readFileSync(join(REPO, 'docs/joblet-runtime-system-guide.md'), 'utf8');

const PLACEHOLDERS: Record<string, string> = {
  '<runtime-name>': 'python-3.11-ml',
  '<runtime>': 'python-3.11-ml',
  '<version>': '1.0.0',
  '<path-to-runtime.yaml>': './runtime.yaml',
  '<command>': 'true',
};

const RNX_LINE = /^(RNX_SERVER=\S+\s+)?rnx\s/;

/** One step of the guide: a command line to run, or a runtime.yaml to write. */
export type GuideStep =
  { kind: 'rnx'; line: string } | { kind: 'write'; file: 'runtime.yaml'; content: string };

/** The guide's steps in the order a reader meets them. */
export function guideSteps(text: string): GuideStep[] {
  const lines = text.split('\n');
  const steps: GuideStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === "cat > runtime.yaml << 'EOF'") {
      const end = lines.indexOf('EOF', i + 1);
      if (end < 0) throw new Error(`the guide's heredoc at line ${i + 1} has no EOF`);
      steps.push({ kind: 'write', file: 'runtime.yaml', content: block(lines, i + 1, end) });
      i = end;
    } else if (l === '# runtime.yaml') {
      // The custom runtime example: the spec runs up to the comment before its build line.
      let end = i + 1;
      while (end < lines.length && !lines[end]!.startsWith('# Build')) end++;
      steps.push({ kind: 'write', file: 'runtime.yaml', content: block(lines, i + 1, end) });
      i = end - 1;
    } else if (RNX_LINE.test(l)) {
      steps.push({
        kind: 'rnx',
        line: l.replace(/<[a-z.-]+>/g, (p) => PLACEHOLDERS[p] ?? p),
      });
    }
  }
  return steps;
}

function block(lines: string[], from: number, to: number): string {
  return `${lines.slice(from, to).join('\n').trimEnd()}\n`;
}

/** The guide's command lines: those that start with `rnx` (or `RNX_SERVER=… rnx`). */
export function guideCommands(text: string): string[] {
  return guideSteps(text).flatMap((s) => (s.kind === 'rnx' ? [s.line] : []));
}

/** The guide's own runtime.yaml (its first heredoc). */
export function guideSpec(text: string): string {
  const first = guideSteps(text).find((s) => s.kind === 'write');
  if (!first || first.kind !== 'write') throw new Error('the guide has no runtime.yaml heredoc');
  return first.content;
}
