// Bundles one app (run from its directory) into dist/ with esbuild.
// Why not plain tsc: libs are consumed as TypeScript source (their `exports` point at src/index.ts),
// which Node 20 cannot load. We bundle the @joblet/* libs into each app and keep every third-party
// package external, so node_modules stays the single source of those (bullmq, pino, fastify...).
// Type checking is `tsc --noEmit` (the `typecheck` task).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

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
await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: [...external].flatMap((n) => [n, `${n}/*`]),
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});
