#!/usr/bin/env bash
# test.sh - the README's test command: setup (idempotent), the formatting check, then every
# package's typecheck, lint and tests, one package at a time (kernel suites share namespaces and bpffs).
# XDP_LB_FULL_MATRIX=1 runs the full end-to-end matrix instead of the lean CI cover.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
# Kernel suites may not skip wholesale here (vitest.kernel-guard.ts): a run that tested nothing fails.
export XDP_LB_REQUIRE_KERNEL=1
# Formatting (prettier: .prettierrc.json; what it skips: .prettierignore). `npm run format` fixes it.
npx prettier --check . --log-level warn
npx nx run-many -t typecheck lint --outputStyle=static --parallel=2
npx nx run-many -t test --outputStyle=static --parallel=1 --skip-nx-cache
