import { tsupConfig } from '../../tsup.config.base.ts';

export default tsupConfig();
