#!/usr/bin/env bash
# Rehearses scripts/gpu_check.sh where no GPU is: in a clean Debian trixie root that has only what
# the GPU machine has (a compiler, CMake, ninja, a LibTorch and a Python torch; not the -dev
# packages of CLI11, spdlog, fmt, stb or GoogleTest), with the folder scripts/gpu_bundle.sh made,
# on the CPU (--device cpu: the CUDA tests skip, graphs fall back eagerly). A file the bundle lacks
# or a step the script gets wrong fails here, not in the minutes a GPU machine is lent.
#   scripts/rehearse_gpu_check.sh [gpu_check.sh arguments]
# Needs root. The root is kept in build/trixie-bare (about 2 GB) and reused; the report lands in
# build/gpu-check/gpu_check.md. Exit: gpu_check.sh's; 3 when the root could not be made.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${ACGAN_BARE_ROOT:-$PWD/build/trixie-bare}
suite=trixie
packages=(g++ cmake ninja-build libtorch-dev python3-torch libopenblas0-openmp)
say() { echo "rehearse_gpu_check: $*" >&2; }
unavailable() { say "error: $*; nothing was checked"; exit 3; }

[[ -f build/gpu-bundle/MANIFEST ]] || scripts/gpu_bundle.sh
# shellcheck source=scripts/trixie_root.sh
source scripts/trixie_root.sh
make_root "${packages[@]}"
for p in libcli11-dev libspdlog-dev libfmt-dev libstb-dev googletest libgtest-dev; do
  if chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    unavailable "$p is installed in $root: not a clean rehearsal (remove the root and run again)"
  fi
done
copy_tree_into_root
rm -rf "$root/work/acgan/build/gpu-bundle"
mkdir -p "$root/work/acgan/build"
cp -r build/gpu-bundle "$root/work/acgan/build/gpu-bundle"
status=0
chroot "$root" /bin/bash -c 'cd /work/acgan && scripts/gpu_check.sh --device cpu --libtorch /usr \
  --out build/gpu-check --budget_s 1500 "$@"' gpu_check "$@" || status=$?
rm -rf build/gpu-check && cp -r "$root/work/acgan/build/gpu-check" build/gpu-check
cat build/gpu-check/gpu_check.md
exit $status
