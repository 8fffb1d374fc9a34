// Bundles one app (run from its directory) into dist/ with esbuild.
// Why not plain tsc: libs are consumed as TypeScript source (their `exports` point at src/index.ts),
// which Node 20 cannot load. We bundle the @joblet/* libs into each app and keep every third-party
// package external, so node_modules stays the single source of those (bullmq, pino, fastify...).
// Type checking is `tsc --noEmit` (the `typecheck` task).
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const external = new Set();
const collect = (deps) => {
  for (const name of Object.keys(deps ?? {})) {
    if (name.startsWith('@joblet/')) {
      const lib = JSON.parse(readFileSync(`../../libs/${name.slice(8)}/package.json`, 'utf8'));
      collect(lib.dependencies);
    } else external.add(name);
  }
};
collect(pkg.dependencies);

const entries = pkg.buildEntries ?? ['src/index.ts'];
// `buildSplitting` (the CLI): each dynamic `import()` becomes a chunk of its own, loaded only when
// reached, so a command loads only what it needs. Chunks sit next to the entry (dist/), where
// `import.meta.url`-relative paths in them resolve as from the entry. dist/ is emptied first, or
// chunks of earlier builds (their names carry a content hash) would pile up.
const splitting = pkg.buildSplitting === true;
// `buildBundleDependencies` (the CLI): third-party packages are bundled too. Node 20's ESM loader
// resolves and reads each file of a package on its own (zod alone is dozens), and for a CLI whose
// start-up is on the user's critical path that costs more than the code itself.
const bundleDependencies = pkg.buildBundleDependencies === true;
if (splitting) rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  splitting,
  chunkNames: '[name]-[hash]',
  sourcemap: true,
  external: bundleDependencies ? [] : [...external].flatMap((n) => [n, `${n}/*`]),
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});
