// `npx vitest run X.test.ts` typed in bpf/tests starts in bpf/ (npm exec runs in the workspace
// package's folder), where vitest would otherwise use its defaults: a 5 s timeout and no kernel
// guard. The packet suite's own config (tests/vitest.config.ts, what `nx run bpf-tests:test` uses)
// applies from here too.
import { mergeConfig } from 'vitest/config';
import suite from './tests/vitest.config.ts';

export default mergeConfig(suite, { test: { dir: 'tests' } });
