#!/usr/bin/env bash
# scripts/check_layers.py passes on the tree as it is, and fails, naming the file and line, on a
# copy with a planted upward include and on a folder it has no layer for.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" "$root/scripts/check_layers.py" > /dev/null
mkdir -p "$tmp/tree"
cp -r "$root/include" "$root/src" "$tmp/tree/"
expect_failure() {  # what it plants, the text the failure must hold
  if "$python" "$root/scripts/check_layers.py" --root "$tmp/tree" > "$tmp/out" 2>&1; then
    echo "FAIL: $1 not found"; exit 1
  fi
  grep -q "$2" "$tmp/out" || { echo "FAIL: $1: $(cat "$tmp/out")"; exit 1; }
}
cp "$tmp/tree/src/models/models.cpp" "$tmp/models.cpp"
printf '#include "acgan/training/train_step.h"\n' >> "$tmp/tree/src/models/models.cpp"
line=$(wc -l < "$tmp/tree/src/models/models.cpp")
expect_failure "models including training" "src/models/models.cpp:$line: includes acgan/training/train_step.h, which points up"
cp "$tmp/models.cpp" "$tmp/tree/src/models/models.cpp"
printf '#include "acgan/commands/train.h"\n' >> "$tmp/tree/include/acgan/io/outdir.h"
expect_failure "io's header including a command" "include/acgan/io/outdir.h:.*acgan/commands/train.h, which points up"
cp "$root/include/acgan/io/outdir.h" "$tmp/tree/include/acgan/io/outdir.h"
mkdir -p "$tmp/tree/src/misc" && touch "$tmp/tree/src/misc/helpers.cpp"
expect_failure "a folder without a layer" "src/misc/helpers.cpp: folder 'misc' has no layer"
echo "check_layers_test: 4 passed, 0 failed"
