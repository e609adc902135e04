import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte({ configFile: false })],
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    environment: 'node',
    pool: 'forks',
    // A verdict must not depend on the machine's speed: CI may run on a busy machine, where a
    // test that takes 40 s alone can take minutes. The timeout only catches hangs; heavy engine
    // files raise it further (test/engine/timeouts.ts).
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Two cores here and in CI: heavy suites (training, e2e) share them badly.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
