import { tsupConfig } from '../../tsup.config.base.ts';

// index: the library; strategy/kit: @xdp-lb/core/strategy, the kernel-free strategy kit.
export default tsupConfig({ entry: { index: 'src/index.ts', 'strategy/kit': 'src/strategy/kit.ts' } });
