// Copies the dashboard's static files next to the bundled API (dist/ui/), where
// src/routes/ui/index.ts looks for them at run time. Run from apps/api after build-app.mjs.
import { cpSync, mkdirSync } from 'node:fs';

mkdirSync('dist/ui', { recursive: true });
cpSync('src/routes/ui/static', 'dist/ui', { recursive: true });
