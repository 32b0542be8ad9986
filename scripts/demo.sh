#!/usr/bin/env bash
# demo.sh - the README's main command: setup (idempotent), then `lb demo`: the tutorial's lab in
# network namespaces, the load balancer deployed in it, real HTTP from several clients, what it did.
# Extra arguments go to `lb demo` (see `lb demo --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
exec node packages/cli/dist/main.js demo "$@"
