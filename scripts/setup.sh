#!/usr/bin/env bash
# Installs what acgan needs on Debian bookworm / Ubuntu (only what is missing), puts LibTorch on the
# fast BLAS (OpenBLAS built with OpenMP), and builds into build/ (Release). Idempotent: a second run
# installs nothing and rebuilds only what changed.
#   scripts/setup.sh            build the trainer
#   scripts/setup.sh --tests    also what the test suite needs
# Extra CMake arguments can be passed in ACGAN_CMAKE_ARGS (e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libtorch-dev libcli11-dev libspdlog-dev libstb-dev libgloo-dev
          zlib1g-dev libopenblas0-openmp curl ca-certificates)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(googletest libgtest-dev python3 python3-matplotlib python3-torch python3-onnx
             dataset-fashion-mnist)
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch resolves BLAS through Debian's alternatives: the reference BLAS is ~5x slower and the
# pthreads OpenBLAS fights LibTorch's OpenMP threads, so point every BLAS link at the OpenMP build.
arch_dir=/usr/lib/$(gcc -print-multiarch)
for link in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  name="$link-$(gcc -print-multiarch)"
  target="$arch_dir/openblas-openmp/$link"
  [[ -e "$target" ]] || continue
  current=$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')
  if [[ -n "$current" && "$current" != "$target" ]]; then
    echo "setup: $name -> $target (was $current)"
    as_root update-alternatives --set "$name" "$target" >/dev/null
  fi
done

# shellcheck disable=SC2086
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${ACGAN_CMAKE_ARGS:-} >/dev/null
cmake --build build
