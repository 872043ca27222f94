#!/usr/bin/env bash
# scripts/get_cifar10.sh against a local archive: downloads, checks md5, unpacks; does nothing
# when the files are there; refuses a wrong checksum and leaves no partial file.
set -euo pipefail
script="$(cd "$(dirname "$0")/.." && pwd)/scripts/get_cifar10.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/cifar-10-batches-bin"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  head -c 3073 /dev/zero > "$tmp/src/cifar-10-batches-bin/$f.bin"
done
tar -czf "$tmp/archive.tar.gz" -C "$tmp/src" cifar-10-batches-bin
md5=$(md5sum "$tmp/archive.tar.gz" | cut -d' ' -f1)
fail() { echo "FAIL: $*"; exit 1; }

CIFAR10_URL="file://$tmp/archive.tar.gz" CIFAR10_MD5=$md5 bash "$script" "$tmp/data"
[[ -f "$tmp/data/cifar-10-batches-bin/test_batch.bin" ]] || fail "not unpacked"
[[ ! -e "$tmp/data/cifar-10-binary.tar.gz" ]] || fail "archive left behind"

# Present already: no download is tried (the URL would fail).
CIFAR10_URL="file://$tmp/absent.tar.gz" bash "$script" "$tmp/data" || fail "re-download attempted"

# Wrong checksum: loud failure, nothing left.
if out=$(CIFAR10_URL="file://$tmp/archive.tar.gz" CIFAR10_MD5=0123 bash "$script" "$tmp/other" 2>&1); then
  fail "wrong md5 accepted"
fi
[[ "$out" == *"expected 0123"* ]] || fail "message: $out"
[[ -z "$(ls -A "$tmp/other")" ]] || fail "partial download left: $(ls "$tmp/other")"

# Unreachable source: loud failure that says how to work offline.
if out=$(CIFAR10_URL="file://$tmp/absent.tar.gz" bash "$script" "$tmp/third" 2>&1); then
  fail "missing source accepted"
fi
[[ "$out" == *"copy data_batch_1..5.bin"* ]] || fail "message: $out"
echo "get_cifar10_test: 4 passed, 0 failed"
