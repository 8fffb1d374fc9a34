/** Shared fixtures for the spec tests: the example specs and a minimal valid spec. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const examplesDir = fileURLToPath(new URL('../../../../examples/', import.meta.url));

/** Every examples/<name>/runtime.yaml, by name. */
export function exampleSpecs(): { name: string; file: string; text: string }[] {
  return readdirSync(examplesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const file = `${examplesDir}${d.name}/runtime.yaml`;
      return { name: d.name, file, text: readFileSync(file, 'utf8') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A minimal valid spec; extra lines start at line 7. */
export const BASE = `schema_version: "1.0"
name: demo
version: 1.0.0
base:
  language: python
  version: "3.11"
`;

/** BASE followed by `extra` (line 7 onwards). */
export function withBase(extra: string): string {
  return BASE + extra;
}
