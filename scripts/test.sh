#!/usr/bin/env bash
# Quick start, part 2: sets up and builds with the tests (scripts/setup.sh --tests) and runs the
# whole suite with CTest. Extra arguments go to ctest (e.g. -L faults, -R Golden).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
