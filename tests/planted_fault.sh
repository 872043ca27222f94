# Sourced by the checker scripts' tests: expect_failure WHAT TEXT COMMAND... runs the checker on a
# tree with a planted fault and fails the test unless it exits non-zero with TEXT in its output.
expect_failure() {
  local what=$1 text=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    echo "FAIL: $what not found"; exit 1
  fi
  grep -q -- "$text" <<< "$out" || { echo "FAIL: $what: $out"; exit 1; }
}
