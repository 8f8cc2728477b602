import { defineConfig } from 'vitest/config';

// One backend per worker, forked from a seeded checkpoint, restored before every test file.
export default defineConfig({
  test: {
    globalSetup: ['./global-setup.ts'],
    setupFiles: ['./backend.ts'],
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
