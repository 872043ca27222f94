#!/usr/bin/env bash
# scripts/check_docs.py passes on the tree as it is, and fails, naming the file and line, on a copy
# with a planted broken link, a planted broken anchor and a flag missing from README's table.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" "$root/scripts/check_docs.py" > /dev/null
mkdir -p "$tmp/tree/src/training" "$tmp/tree/src/commands" "$tmp/tree/tests"
cp -r "$root/README.md" "$root/docs" "$tmp/tree/"
cp "$root/tests/README.md" "$tmp/tree/tests/"
cp "$root/src/commands/cli.cpp" "$tmp/tree/src/commands/"
cp "$root/src/training/train_options.cpp" "$tmp/tree/src/training/"
expect_failure() {  # what it plants, the text the failure must hold
  if "$python" "$root/scripts/check_docs.py" --root "$tmp/tree" > "$tmp/out" 2>&1; then
    echo "FAIL: $1 not found"; exit 1
  fi
  grep -q "$2" "$tmp/out" || { echo "FAIL: $1: $(cat "$tmp/out")"; exit 1; }
}
cp "$tmp/tree/docs/layout.md" "$tmp/layout.md"
echo "[gone](missing.md)" >> "$tmp/tree/docs/layout.md"
expect_failure "a broken link" "docs/layout.md:.*missing.md"
cp "$tmp/layout.md" "$tmp/tree/docs/layout.md"
echo "[gone](evaluation.md#no-such-heading)" >> "$tmp/tree/docs/layout.md"
expect_failure "a broken anchor" "no-such-heading"
cp "$tmp/layout.md" "$tmp/tree/docs/layout.md"
grep -v '^| `--oversubscribe`' "$root/README.md" > "$tmp/tree/README.md"
expect_failure "an undocumented flag" "oversubscribe"
echo "check_docs_test: 4 passed, 0 failed"
