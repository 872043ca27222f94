#!/usr/bin/env bash
# Makes sure DIR holds CIFAR-100's binary version: does nothing when DIR (or DIR/cifar-100-binary)
# already has train.bin and test.bin; otherwise downloads the official cifar-100-binary.tar.gz,
# checks its md5 and unpacks it into DIR/cifar-100-binary (with fine_label_names.txt and
# coarse_label_names.txt). Offline? Copy the files there by hand.
#   scripts/get_cifar100.sh DIR          then: acgan --root_dir DIR [--labels coarse]
# CIFAR100_URL and CIFAR100_MD5 override the source and its checksum (for a local mirror).
set -euo pipefail
dir=${1:?usage: scripts/get_cifar100.sh DIR}
url=${CIFAR100_URL:-https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz}
md5=${CIFAR100_MD5:-03b5dce01913d631647c71ecec9e9cb8}

has_all() { [[ -f "$1/train.bin" && -f "$1/test.bin" ]]; }
if has_all "$dir" || has_all "$dir/cifar-100-binary"; then
  exit 0
fi
# shellcheck source=scripts/download_checked.sh
source "$(dirname "$0")/download_checked.sh"
download_checked get_cifar100 "$url" "$md5" "$dir" \
  "with no network, copy train.bin and test.bin into $dir/cifar-100-binary"
has_all "$dir/cifar-100-binary" || { echo "get_cifar100: error: $url did not hold cifar-100-binary/*.bin" >&2; exit 1; }
echo "get_cifar100: CIFAR-100 ready in $dir/cifar-100-binary" >&2
