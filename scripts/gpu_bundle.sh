#!/usr/bin/env bash
# Prepares the folder scripts/gpu_check.sh takes to a GPU machine that has a CUDA torch, CMake,
# ninja and nvcc but no Debian packages and no network: the headers of Debian's CLI11, spdlog, fmt
# and stb and GoogleTest's sources (their .deb files fetched with apt-get download from this
# machine's apt sources and unpacked with dpkg -x; built header-only there, CMake option
# ACGAN_HEADER_DEPS), and one CIFAR-10 training file (30 MB: the five would not fit the 64 MiB a
# device run carries; gpu_check.sh links it under the other names, so the benchmark and a short run
# see 10,000 distinct images five times).
#   scripts/gpu_bundle.sh [--root_dir DIR] [--out DIR]    (default out: build/gpu-bundle)
# Prints the folder and its size; exits 1 naming what it could not get.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=../shared/data; [[ -d $root_dir/cifar-10-batches-bin ]] || root_dir=data
out=build/gpu-bundle
while (( $# )); do
  case "$1" in
    --root_dir) root_dir=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "gpu_bundle: unknown option $1 (expected --root_dir DIR, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
fail() { echo "gpu_bundle: error: $*" >&2; exit 1; }

packages=(libcli11-dev libspdlog-dev libfmt-dev libstb-dev zlib1g-dev googletest)
batch=$root_dir/cifar-10-batches-bin/data_batch_1.bin
[[ -f $batch ]] || fail "$batch: missing; pass --root_dir at the folder holding cifar-10-batches-bin"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1) ||
  { apt-get update -q >/dev/null 2>&1 && (cd "$work" && apt-get download "${packages[@]}" >/dev/null); } ||
  fail "apt-get download ${packages[*]} failed (no reachable mirror in the apt sources?)"

rm -rf "$out"
mkdir -p "$out/deps" "$out/data/cifar-10-batches-bin"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$out/deps"; done
rm -rf "$out/deps/usr/share" "$out/deps/usr/lib"  # docs and CMake/pkg-config files: not used
cp "$batch" "$out/data/cifar-10-batches-bin/"
for deb in "$work"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done > "$out/MANIFEST"
sha256sum "$batch" | sed "s|  .*|  data/cifar-10-batches-bin/data_batch_1.bin|" >> "$out/MANIFEST"
echo "made at commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')" >> "$out/MANIFEST"

size=$(du -sm "$out" | cut -f1)
(( size <= 60 )) || fail "$out is $size MiB, over the 60 MiB left of a device run's 64 beside the sources"
echo "$out ($size MiB): $(cut -d' ' -f1 "$out/MANIFEST" | head -n ${#packages[@]} | paste -sd' ') and data_batch_1.bin"
