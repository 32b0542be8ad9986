// Shared vitest settings: every package merges this. Tests resolve workspace packages to their
// TypeScript sources through the "@xdp-lb/source" export condition, so no build is needed to test.
import { defineConfig } from 'vitest/config';
import KernelGuard from './vitest.kernel-guard.js';

export default defineConfig({
  resolve: { conditions: ['@xdp-lb/source'] },
  ssr: { resolve: { conditions: ['@xdp-lb/source'] } },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Kernel-facing suites share one machine's network namespaces and bpffs: run files one at a time.
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default', new KernelGuard()],
  },
});
