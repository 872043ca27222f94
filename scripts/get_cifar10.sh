#!/usr/bin/env bash
# Makes sure DIR holds CIFAR-10's binary version: does nothing when DIR (or DIR/cifar-10-batches-bin)
# already has the six .bin files; otherwise downloads the official cifar-10-binary.tar.gz, checks
# its md5 and unpacks it into DIR/cifar-10-batches-bin. Offline? Copy the files there by hand.
#   scripts/get_cifar10.sh DIR
# CIFAR10_URL and CIFAR10_MD5 override the source and its checksum (for a local mirror).
set -euo pipefail
dir=${1:?usage: scripts/get_cifar10.sh DIR}
url=${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
md5=${CIFAR10_MD5:-c32a1d4ab5d03f1284b67883e8d87530}
files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

has_all() { for f in "${files[@]}"; do [[ -f "$1/$f" ]] || return 1; done; }
if has_all "$dir" || has_all "$dir/cifar-10-batches-bin"; then
  exit 0
fi

# shellcheck source=scripts/download_checked.sh
source "$(dirname "$0")/download_checked.sh"
download_checked get_cifar10 "$url" "$md5" "$dir" \
  "with no network, copy data_batch_1..5.bin and test_batch.bin into $dir/cifar-10-batches-bin"
has_all "$dir/cifar-10-batches-bin" || { echo "get_cifar10: error: $url did not hold cifar-10-batches-bin/*.bin" >&2; exit 1; }
echo "get_cifar10: CIFAR-10 ready in $dir/cifar-10-batches-bin" >&2
