/**
 * The rules that keep the house walkable, checked on every file of the repository: apps never
 * import other apps (a test may start another app through its `@joblet/<app>/testing` entry),
 * libs never import apps, exactly one file starts bubblewrap (the launcher of @joblet/sandbox: a
 * hardening change is made once), and no source file passes 400 lines.
 * Import cycles, type-only imports included, are refused by `npm run lint` (dpdm, `cycles`).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, filesUnder } from './repo.js';

const APP_PACKAGES = ['api', 'worker', 'agent', 'cli'];
const LAUNCHER = 'libs/sandbox/src/launcher.ts';
const MAX_LINES = 400;

const sources = ['apps', 'libs', 'test', 'bench']
  .flatMap((d) => filesUnder(d, /\.(ts|mts|js|mjs)$/))
  .map((p) => relative(REPO, p))
  .filter((p) => !/(^|\/)(node_modules|dist)\//.test(p));

const read = (p: string) => readFileSync(`${REPO}/${p}`, 'utf8');

/** Import and re-export specifiers of a file (static, dynamic and `import type`). */
function specifiers(text: string): string[] {
  const found = [
    ...text.matchAll(/\b(?:import|export)\s[^'"`;]*?\bfrom\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
  ];
  return found.map((m) => m[1]!);
}

/** The app a repository path belongs to, if any. */
function appOf(path: string): string | undefined {
  return /^apps\/([^/]+)\//.exec(path)?.[1];
}

/** Where a specifier of `file` points: an app (by package or by path), else undefined. */
function targetApp(file: string, spec: string): string | undefined {
  const pkg = /^@joblet\/([^/]+)/.exec(spec)?.[1];
  if (pkg) return APP_PACKAGES.includes(pkg) ? pkg : undefined;
  if (!spec.startsWith('.')) return undefined;
  const dir = file.split('/').slice(0, -1).join('/');
  const parts: string[] = [];
  for (const seg of `${dir}/${spec}`.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.' && seg !== '') parts.push(seg);
  }
  return appOf(parts.join('/'));
}

describe('repository rules', () => {
  it('finds the sources it checks', () => {
    expect(sources.length).toBeGreaterThan(300);
    expect(sources).toContain(LAUNCHER);
  });

  it('apps import no other app, libs import no app', () => {
    const bad: string[] = [];
    for (const file of sources) {
      const own = appOf(file);
      const isLib = file.startsWith('libs/');
      if (!own && !isLib) continue; // test/ and bench/ drive the apps from outside
      for (const spec of specifiers(read(file))) {
        const target = targetApp(file, spec);
        if (!target || target === own) continue;
        // A test may start another app through that app's published test entry point.
        if (file.endsWith('.test.ts') && spec === `@joblet/${target}/testing`) continue;
        bad.push(`${file} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it(`only ${LAUNCHER} starts bwrap; bwrap arguments are written only in libs/sandbox`, () => {
    const starts =
      /\b(?:spawn|spawnSync|execFile|execFileSync|execSync|run|spawnProcess)\s*\(\s*['"`]bwrap\b|\?\?\s*['"`]bwrap['"`]/;
    const writesArgs = /['"]--(?:unshare-(?:pid|net|user|all)|ro-bind|die-with-parent|cap-add)['"]/;
    const bad: string[] = [];
    for (const file of sources) {
      if (file === 'test/infra/repo-rules.test.ts') continue;
      const text = read(file);
      // A benchmark's floor is bare bwrap by definition (bench/): measured beside the launcher.
      const floor = file.startsWith('bench/');
      if (file !== LAUNCHER && !floor && starts.test(text)) bad.push(`${file} starts bwrap`);
      const sandboxLib = file.startsWith('libs/sandbox/src/');
      if (!sandboxLib && !file.endsWith('.test.ts') && writesArgs.test(text)) {
        bad.push(`${file} writes bwrap arguments`);
      }
    }
    expect(bad).toEqual([]);
  });

  it(`no source file is over ${MAX_LINES} lines`, () => {
    const long = sources
      .map((file) => ({ file, lines: read(file).split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });
});
