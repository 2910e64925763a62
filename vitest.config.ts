import { defineConfig } from 'vitest/config';

// Three tiers. unit: pure code, no I/O beyond temp files. int: one real control plane per run (global setup),
// a namespace per test file. e2e: the whole operator against that same control plane.
const clusterSetup = './test/support/clusterGlobalSetup.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{domain,projections,src,test}/**/*.unit.test.ts'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['{src,test}/**/*.int.test.ts'],
          globalSetup: [clusterSetup],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          globalSetup: [clusterSetup],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
