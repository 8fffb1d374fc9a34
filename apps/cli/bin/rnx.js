#!/usr/bin/env node
// The `rnx` binary: a thin shim over the bundled CLI (built by `npm run build`).
import { main } from '../dist/index.js';

process.exitCode = await main(process.argv.slice(2));
