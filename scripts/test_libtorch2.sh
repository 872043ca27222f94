#!/usr/bin/env bash
# Builds acgan and runs its whole test suite against LibTorch 2.x: Debian trixie (libtorch-dev 2.6)
# in a folder made with debootstrap and entered with chroot, so the same sources are compiled,
# linked and run against both the LibTorch we ship on (bookworm's 1.13) and a current one.
#   scripts/test_libtorch2.sh [ctest arguments]
# Needs root (debootstrap, chroot, mount). The mirror is the one this machine's own apt sources
# name; nothing else is downloaded. The root is kept in build/trixie (about 2 GB) and reused: a
# second run only rebuilds what changed. Exit 0: built and every test passed; 1: a build or test
# failure; 3: the root could not be made (no mirror reachable, not root): nothing was checked.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${ACGAN_TRIXIE_ROOT:-$PWD/build/trixie}
suite=trixie
# What scripts/setup.sh --tests installs on bookworm, from trixie.
packages=(g++ cmake ninja-build pkg-config libtorch-dev libcli11-dev libspdlog-dev libstb-dev libgloo-dev
          zlib1g-dev libopenblas0-openmp curl ca-certificates googletest libgtest-dev python3
          python3-matplotlib python3-torch python3-onnx dataset-fashion-mnist)

say() { echo "test_libtorch2: $*" >&2; }
unavailable() { say "error: $*; nothing was checked"; exit 3; }

# shellcheck source=scripts/trixie_root.sh
source scripts/trixie_root.sh
make_root "${packages[@]}"
copy_tree_into_root
version=$(chroot "$root" dpkg-query -W -f='${Version}' libtorch-dev)
say "building against libtorch-dev $version"

chroot "$root" /bin/bash -c '
  set -e
  cd /work/acgan
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build
  ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
' ctest-args "$@"
