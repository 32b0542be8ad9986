import { tsupConfig } from '../../tsup.config.base.ts';

// index: the library (with declarations); main: the `lb` binary.
export default tsupConfig({ entry: ['src/index.ts', 'src/main.ts'], dts: { entry: 'src/index.ts' } });
