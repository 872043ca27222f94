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
          libopenblas0-openmp curl ca-certificates googletest libgtest-dev python3 python3-matplotlib)

say() { echo "test_libtorch2: $*" >&2; }
unavailable() { say "error: $*; nothing was checked"; exit 3; }

[[ $(id -u) -eq 0 ]] || unavailable "needs root (debootstrap and chroot)"

# The Debian mirror of this machine's apt sources (deb822 .sources or one-line .list), not security.
debian_mirror() {
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  local f
  for f in "${files[@]}"; do
    [[ -r $f ]] || continue
    if [[ $f == *.sources ]]; then
      sed -n 's/^URIs:[[:space:]]*//p' "$f"
    else
      sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f"
    fi
  done | tr ' ' '\n' | grep -E '/debian/?$' | grep -v security | head -1
}

mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_into_root() {  # source target [mount options...]
  local target=$root/$2
  mkdir -p "$target"
  mount "${@:3}" "$1" "$target"
  mounted+=("$target")
}

if [[ ! -f $root/.acgan-ready ]]; then
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"
    { apt-get install -y -q --no-install-recommends debootstrap ||
      { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }; } \
      >/dev/null 2>&1 || unavailable "cannot install debootstrap"
  }
  mirror=$(debian_mirror)
  [[ -n $mirror ]] || unavailable "no Debian mirror found in /etc/apt/sources.list{,.d}"
  say "debootstrap $suite from $mirror into $root (about 3 minutes)"
  rm -rf "$root"
  mkdir -p "$root"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
    unavailable "debootstrap failed (log: $root.debootstrap.log)"
  echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
  touch "$root/.acgan-ready"
fi
mount_into_root proc proc -t proc
missing=()
for p in "${packages[@]}"; do
  chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "installing ${missing[*]}"
  chroot "$root" apt-get update -q > "$root.apt.log" 2>&1 &&
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${missing[@]}" >> "$root.apt.log" 2>&1 ||
    unavailable "apt-get install in the $suite root failed (log: $root.apt.log)"
fi

# The sources as they are in this tree (tracked and untracked, not ignored), and ../shared
# (golden numbers, seeds, data) read-only beside them, as the tests expect it.
src=$root/work/acgan
mkdir -p "$src" "$root/work/shared"
# Only files whose content changed are copied, with a new mtime: ninja must see them as newer than
# the objects of the last run, which tar's restored mtimes would not guarantee.
stage=$(mktemp -d)
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$stage"
(cd "$stage" && find . -type f) | while IFS= read -r f; do
  if ! cmp -s "$stage/$f" "$src/$f"; then
    mkdir -p "$(dirname "$src/$f")"
    cp "$stage/$f" "$src/$f"
  fi
done
rm -rf "$stage"
if [[ -d ../shared ]]; then
  mount_into_root "$(cd ../shared && pwd)" work/shared --bind
  mount -o remount,bind,ro "$root/work/shared"
fi
version=$(chroot "$root" dpkg-query -W -f='${Version}' libtorch-dev)
say "building against libtorch-dev $version"

chroot "$root" /bin/bash -c '
  set -e
  cd /work/acgan
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build
  ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
' ctest-args "$@"
