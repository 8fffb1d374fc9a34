#!/usr/bin/env node
// The `rnx` binary: a thin shim over the bundled CLI (built by `npm run build`).
// Node's on-disk compile cache (Node >= 22.1) spares every later start the parsing and compiling
// of the bundle; it must be on before the bundle is imported, hence the dynamic import below.
import * as nodeModule from 'node:module';

nodeModule.enableCompileCache?.();
const { main } = await import('../dist/index.js');
process.exitCode = await main(process.argv.slice(2));
