#!/usr/bin/env bash
# Runs the unit tier (scripts/run-tests.mjs unit) on each Node.js release kubelab supports
# beside the host's own: the newest 22.x and 24.x this repository was checked with, installed
# once into the dev cache from the npm registry (scripts/dev-tools/node.sh).
#   usage: bash scripts/test-node-versions.sh [VERSION...]   (default: 22.23.3 24.21.0)
# Each runs with that node first on PATH; the tier's own output says what failed. Exits
# non-zero when any release failed, after running them all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(22.23.3 24.21.0)
failed=()
for v in "${versions[@]}"; do
  bin="$(bash scripts/dev-tools/node.sh "$v" | tail -n1)"
  echo "test-node-versions: the unit tier on Node.js $("$bin/node" --version)" >&2
  PATH="$bin:$PATH" node scripts/run-tests.mjs unit || failed+=("$v")
done
[[ ${#failed[@]} -eq 0 ]] || { echo "test-node-versions: the unit tier failed on Node.js ${failed[*]}" >&2; exit 1; }
