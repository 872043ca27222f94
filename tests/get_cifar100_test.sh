#!/usr/bin/env bash
# scripts/get_cifar100.sh against a local archive: downloads, checks md5, unpacks with the class
# name files; does nothing when the files are there; refuses a wrong checksum, leaving nothing.
set -euo pipefail
script="$(cd "$(dirname "$0")/.." && pwd)/scripts/get_cifar100.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/cifar-100-binary"
head -c 3074 /dev/zero > "$tmp/src/cifar-100-binary/train.bin"
head -c 3074 /dev/zero > "$tmp/src/cifar-100-binary/test.bin"
echo apple > "$tmp/src/cifar-100-binary/fine_label_names.txt"
tar -czf "$tmp/archive.tar.gz" -C "$tmp/src" cifar-100-binary
md5=$(md5sum "$tmp/archive.tar.gz" | cut -d' ' -f1)
fail() { echo "FAIL: $*"; exit 1; }

CIFAR100_URL="file://$tmp/archive.tar.gz" CIFAR100_MD5=$md5 bash "$script" "$tmp/data"
[[ -f "$tmp/data/cifar-100-binary/fine_label_names.txt" ]] || fail "not unpacked"
[[ -z "$(find "$tmp/data" -maxdepth 1 -name '*.tar.gz*')" ]] || fail "archive left behind"
CIFAR100_URL="file://$tmp/absent.tar.gz" bash "$script" "$tmp/data" || fail "re-download attempted"
if out=$(CIFAR100_URL="file://$tmp/archive.tar.gz" CIFAR100_MD5=0123 bash "$script" "$tmp/other" 2>&1); then
  fail "wrong md5 accepted"
fi
[[ "$out" == *"expected 0123"* ]] || fail "message: $out"
[[ -z "$(ls -A "$tmp/other")" ]] || fail "partial download left: $(ls "$tmp/other")"
echo "get_cifar100_test: 3 passed, 0 failed"
