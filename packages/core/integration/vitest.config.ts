import { defineProject, mergeConfig } from 'vitest/config';
import base from '../../../vitest.config.base.ts';

// Core's integration suite is its own nx project (core-integration): it deploys programs, which
// need the strategy packages, and those depend on core (README.md says why it is not in core).
export default mergeConfig(base, defineProject({ test: { name: 'core-integration' } }));
