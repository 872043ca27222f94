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
source "$root/tests/planted_fault.sh"
check() { "$python" "$root/scripts/check_docs.py" --root "$tmp/tree"; }
cp "$tmp/tree/docs/layout.md" "$tmp/layout.md"
echo "[gone](missing.md)" >> "$tmp/tree/docs/layout.md"
expect_failure "a broken link" "docs/layout.md:.*missing.md" check
cp "$tmp/layout.md" "$tmp/tree/docs/layout.md"
echo "[gone](evaluation.md#no-such-heading)" >> "$tmp/tree/docs/layout.md"
expect_failure "a broken anchor" "no-such-heading" check
cp "$tmp/layout.md" "$tmp/tree/docs/layout.md"
grep -v '^| `--oversubscribe`' "$root/README.md" > "$tmp/tree/README.md"
expect_failure "an undocumented flag" "oversubscribe" check
echo "check_docs_test: 4 passed, 0 failed"
