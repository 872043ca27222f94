#!/usr/bin/env bash
# Compiles every acgan source (library, binary, benchmark, tests) against the headers of LibTorch
# 2.6 (Debian trixie's libtorch-dev, pinned by version and sha256), without linking: the check that
# the code uses only APIs that both LibTorch 1.13 (what we build and test with) and 2.x have.
# Linking needs trixie's libc, so it is left to a real 2.x build (-DCMAKE_PREFIX_PATH=...).
#   scripts/check_libtorch2.sh [-j N]
# Exit 0: all compile; 1: some do not (named, with their first error); 3: the headers could not be
# fetched, nothing was checked.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
[[ ${1:-} == -j ]] && jobs=$2

deb=libtorch-dev_2.6.0+dfsg-7_amd64.deb
sha256=d63886ac7482184e96d38cbbbb346430f1cc3a68b59319eb2ca1ababd501535b
url=http://deb.debian.org/debian/pool/main/p/pytorch/$deb
cache=build/libtorch2
mkdir -p "$cache"
if [[ ! -f $cache/$deb ]] || ! echo "$sha256  $cache/$deb" | sha256sum -c --quiet 2>/dev/null; then
  echo "check_libtorch2: downloading $url" >&2
  curl -fsSL -o "$cache/$deb.part" "$url" || {
    echo "check_libtorch2: error: cannot download $url (offline, or the mirror moved past" \
         "2.6.0+dfsg-7: update deb and sha256 in this script); nothing was checked" >&2
    exit 3
  }
  echo "$sha256  $cache/$deb.part" | sha256sum -c --quiet || {
    echo "check_libtorch2: error: $deb does not match its pinned sha256; nothing was checked" >&2
    exit 3
  }
  mv "$cache/$deb.part" "$cache/$deb"
  rm -rf "$cache/root"
fi
[[ -d $cache/root ]] || dpkg -x "$cache/$deb" "$cache/root"
inc=$cache/root/usr/include
version=$(printf '#include <torch/version.h>\nTORCH_VERSION_MAJOR.TORCH_VERSION_MINOR\n' |
  g++ -std=c++17 -E -P -x c++ - -isystem "$inc/torch/csrc/api/include" | tail -1 | tr -d ' ')
echo "check_libtorch2: compiling against LibTorch $version headers ($jobs jobs)" >&2

# Our targets' warnings (cmake/AcganWarnings.cmake) as errors, deprecations included: a call that
# 2.x deprecates is a call a later 2.x removes.
flags=(-std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter
  -Werror -Iinclude -Itests -isystem "$inc" -isystem "$inc/torch/csrc/api/include"
  -DACGAN_VERSION='"check"' -DACGAN_SOURCE_DIR='"."' -DACGAN_BINARY='"acgan"'
  $(pkg-config --cflags stb))
logs=$cache/logs
rm -rf "$logs" && mkdir -p "$logs"
sources=(src/*.cpp bench/*.cpp tests/*.cpp)
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} sh -c \
  'g++ "$@" "$0" > "'"$logs"'/$(echo "$0" | tr / _).log" 2>&1 || echo "$0" > "'"$logs"'/$(echo "$0" | tr / _).failed"' \
  {} "${flags[@]}"
if compgen -G "$logs/*.failed" > /dev/null; then
  echo "check_libtorch2: error: sources that do not compile cleanly against LibTorch $version:" >&2
  for f in "$logs"/*.failed; do
    echo "  $(cat "$f"): $(grep -m1 -E 'error' "${f%.failed}.log")" >&2
  done
  echo "(full logs in $logs)" >&2
  exit 1
fi
echo "check_libtorch2: all ${#sources[@]} sources compile against LibTorch $version headers"
