// One lint config for the workspace. The module-boundary rule is what keeps the architecture:
// cli -> core -> native, strategies -> core, builtins -> strategies (the one list cli and bench take
// them from), and only cli and tests touch the lab harness.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/obj/**', '**/node_modules/**', '**/*.config.ts'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            {
              sourceTag: 'type:cli',
              onlyDependOnLibsWithTags: ['type:core', 'type:builtins', 'type:strategy', 'type:netlab', 'type:bench'],
            },
            // The benchmarks drive programs directly (BPF_PROG_TEST_RUN, live frames), like tests do.
            {
              sourceTag: 'type:bench',
              onlyDependOnLibsWithTags: ['type:core', 'type:builtins', 'type:strategy', 'type:netlab', 'type:native'],
            },
            { sourceTag: 'type:builtins', onlyDependOnLibsWithTags: ['type:core', 'type:strategy'] },
            // core reaches native only through its dataplane adapter (checked by the rule below).
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:native'] },
            { sourceTag: 'type:strategy', onlyDependOnLibsWithTags: ['type:core'], bannedExternalImports: ['commander', '@xdp-lb/native'] },
            { sourceTag: 'type:native', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:netlab', onlyDependOnLibsWithTags: [] },
            // The suites' shared plumbing: below every suite, above what it deploys with.
            { sourceTag: 'type:testkit', onlyDependOnLibsWithTags: ['type:core', 'type:native', 'type:netlab'] },
          ],
        },
      ],
    },
  },
  {
    // Type-aware: a promise nobody awaits (an error that vanishes, a change that races the next)
    // or one passed where a callback's result is ignored (an event handler, a timer) is an error.
    files: ['packages/**/*.ts', 'bpf/tests/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Only core's dataplane adapter talks to the native addon; the CLI framework stays in the CLI.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/dataplane/**'],
    rules: { 'no-restricted-imports': ['error', { paths: ['@xdp-lb/native', 'commander'] }] },
  },
  {
    // Tests may use the lab harness and any package they exercise.
    files: ['**/tests/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
);
