#!/usr/bin/env bash
# Compiles, without linking or running, the code that only a CUDA LibTorch builds (--cuda_graphs'
# capture in src/training/cuda_graph_step.cpp, the NCCL backend in src/distributed/communicator.cpp, the
# fused Adam) against the headers of Debian trixie's CUDA LibTorch 2.6, CUDA 12.4, libcu++ and
# NCCL (libtorch-cuda-dev, nvidia-cuda-dev, libcu++-dev, libnccl-dev from trixie's main, contrib
# and non-free: downloaded and unpacked, not installed). A CUDA-only compile error shows here, not in
# the few minutes a GPU machine is lent. Needs root and the trixie root scripts/test_libtorch2.sh
# keeps in build/trixie (the compile flags come from the build/ it made there).
#   scripts/check_cuda_sources.sh
# Exit 0: every file compiled; 1: a compile error (printed); 3: nothing could be checked.
# (Debian's CUDA LibTorch itself cannot be installed without a network: its cuDNN package
# downloads cuDNN from NVIDIA when installed. Its headers are all this needs.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=${ACGAN_TRIXIE_ROOT:-$PWD/build/trixie}
files=(src/training/cuda_graph_step.cpp src/distributed/communicator.cpp src/training/multi_tensor_adam.cpp)
say() { echo "check_cuda_sources: $*" >&2; }
unavailable() { say "error: $*; nothing was checked"; exit 3; }
[[ $(id -u) -eq 0 ]] || unavailable "needs root (chroot)"
commands=$root/work/acgan/build/compile_commands.json
[[ -f $commands ]] || unavailable "$commands missing: run scripts/test_libtorch2.sh first"

headers=/opt/cuda-headers  # inside the root
debs=(nvidia-cuda-dev libnccl-dev libcu++-dev libtorch-cuda-dev)
if [[ ! -f $root$headers/.complete ]]; then
  mirror=$(sed -n 's/^deb \([^ ]*\) trixie main.*/\1/p' "$root/etc/apt/sources.list" | head -1)
  [[ -n $mirror ]] || unavailable "no trixie mirror in $root/etc/apt/sources.list"
  say "downloading ${debs[*]} (about 1 GB) from $mirror"
  echo "deb $mirror trixie contrib non-free" > "$root/etc/apt/sources.list.d/acgan-cuda-headers.list"
  chroot "$root" apt-get update -q >/dev/null 2>&1 || unavailable "apt-get update in $root failed"
  rm -rf "$root/tmp/cuda-debs" && mkdir -p "$root/tmp/cuda-debs" "$root$headers"
  chroot "$root" /bin/sh -c "cd /tmp/cuda-debs && apt-get download ${debs[*]}" \
    >/dev/null 2>&1 || unavailable "apt-get download ${debs[*]} failed"
  for deb in "$root"/tmp/cuda-debs/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root$headers" --wildcards './usr/include/*'
  done
  rm -rf "$root/tmp/cuda-debs"
  touch "$root$headers/.complete"
fi

# This tree's sources and headers, as test_libtorch2.sh copies them.
for f in "${files[@]}"; do mkdir -p "$root/work/acgan/$(dirname "$f")"; cp "$f" "$root/work/acgan/$f"; done
cp -r include/. "$root/work/acgan/include/"

status=0
for f in "${files[@]}"; do
  # The file's own compile command, checking syntax and types only, without the precompiled
  # header (made without CUDA's macros), with CUDA's and NCCL's headers and macros.
  cmd=$(python3 - "$commands" "/work/acgan/$f" "$headers/usr/include" <<'PY'
import json, shlex, sys
entries, path, include = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
entry = next(e for e in entries if e["file"] == path)
args, out, skip = shlex.split(entry["command"]), [], 0
for a in args:
    if skip:
        skip -= 1
        continue
    if a in ("-o", "-include"):
        skip = 1
        continue
    if a in ("-c", "-Winvalid-pch") or a == path:
        continue
    out.append(a)
out += ["-DACGAN_CUDA_GRAPHS", "-DUSE_C10D_NCCL", "-isystem", include, "-fsyntax-only", path]
print("cd " + shlex.quote(entry["directory"]) + " && " + shlex.join(out))
PY
)
  if chroot "$root" /bin/sh -c "$cmd"; then
    say "$f: compiles with CUDA and NCCL"
  else
    say "$f: does not compile with CUDA and NCCL"
    status=1
  fi
done
exit $status
