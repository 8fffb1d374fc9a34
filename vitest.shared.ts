// Shared vitest defaults: real components are slow to start, so timeouts are generous; tests that
// need root-only capabilities skip themselves with a message naming what is missing.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ['src/**/*.test.ts', '*.test.ts', '**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
  },
});
