import { tsupConfig } from '../../tsup.config.base.ts';

// index: the library; vitest: test helpers (a separate entry so the library never loads vitest,
// which belongs to the test runner that imports that entry).
export default tsupConfig({ entry: ['src/index.ts', 'src/vitest.ts'], external: ['vitest'] });
