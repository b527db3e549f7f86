import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'chassis/**/*.test.ts', 'pics/**/*.test.ts', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: ['node_modules', 'dist', 'test/e2e/**'],
          testTimeout: 20000,
        },
      },
      {
        // real namespaces, TAPs and processes: one file at a time, each with its own lab name
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/e2e/global-setup.ts'],   // dist/ built once, outside the workers
          testTimeout: 60000,
          hookTimeout: 120000,
        },
      },
    ],
  },
});
