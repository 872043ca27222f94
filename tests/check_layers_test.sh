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
source "$root/tests/planted_fault.sh"
check() { "$python" "$root/scripts/check_layers.py" --root "$tmp/tree"; }
cp "$tmp/tree/src/models/models.cpp" "$tmp/models.cpp"
printf '#include "acgan/training/train_step.h"\n' >> "$tmp/tree/src/models/models.cpp"
line=$(wc -l < "$tmp/tree/src/models/models.cpp")
expect_failure "models including training" "src/models/models.cpp:$line: includes acgan/training/train_step.h, which points up" check
cp "$tmp/models.cpp" "$tmp/tree/src/models/models.cpp"
printf '#include "acgan/commands/train.h"\n' >> "$tmp/tree/include/acgan/io/outdir.h"
expect_failure "io's header including a command" "include/acgan/io/outdir.h:.*acgan/commands/train.h, which points up" check
cp "$root/include/acgan/io/outdir.h" "$tmp/tree/include/acgan/io/outdir.h"
mkdir -p "$tmp/tree/src/misc" && touch "$tmp/tree/src/misc/helpers.cpp"
expect_failure "a folder without a layer" "src/misc/helpers.cpp: folder 'misc' has no layer" check
echo "check_layers_test: 4 passed, 0 failed"
