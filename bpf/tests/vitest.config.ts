import { defineProject, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.base.ts';

// The packet suite is its own nx project (bpf-tests): the data plane's objects (project bpf) do
// not depend on what tests them, so netlab can use bpf's utility objects without a cycle.
export default mergeConfig(base, defineProject({ test: { name: 'bpf-tests', include: ['**/*.test.ts'] } }));
