#!/usr/bin/env bash
# Builds acgan and its unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
# and runs the unit tests (not the slow fault suite). Any sanitizer report fails the run.
# LibTorch itself is not instrumented; leak checking covers what our code allocates.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests >/dev/null
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" -DACGAN_SANITIZE=ON >/dev/null
cmake --build build-asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -LE faults "$@"
