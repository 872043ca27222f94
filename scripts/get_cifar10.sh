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

mkdir -p "$dir"
archive="$dir/cifar-10-binary.tar.gz"
partial="$archive.part"
echo "get_cifar10: downloading $url into $dir" >&2
if ! curl -fL --retry 3 -o "$partial" "$url"; then
  rm -f "$partial"
  echo "get_cifar10: error: download of $url failed; with no network, copy data_batch_1..5.bin and test_batch.bin into $dir/cifar-10-batches-bin" >&2
  exit 1
fi
got=$(md5sum "$partial" | cut -d' ' -f1)
if [[ "$got" != "$md5" ]]; then
  rm -f "$partial"
  echo "get_cifar10: error: $url has md5 $got, expected $md5 (corrupt or not the official archive)" >&2
  exit 1
fi
mv "$partial" "$archive"
tar -xzf "$archive" -C "$dir"
rm -f "$archive"
has_all "$dir/cifar-10-batches-bin" || { echo "get_cifar10: error: $archive did not hold cifar-10-batches-bin/*.bin" >&2; exit 1; }
echo "get_cifar10: CIFAR-10 ready in $dir/cifar-10-batches-bin" >&2
