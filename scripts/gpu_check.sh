#!/usr/bin/env bash
# The GPU check, in one command for the one short session a GPU machine is lent: builds acgan
# against that machine's CUDA torch (its LibTorch, torch.utils.cmake_prefix_path), runs the CUDA
# tests, two short real CIFAR-10 runs (eager and --cuda_graphs) and scripts/bench.sh --device cuda
# (fp32 / bf16 / fp16, graphs off / on, batch 100 and 1000, PyTorch eager on the same card beside
# it, operations and kernels per step), and writes one report, gpu_check.md, with the logs beside it
# in --out (default $OUT, the folder a device run sends back: 8 files at most).
# The machine needs python3 with a CUDA torch, CMake, ninja and a C++ compiler: no Debian packages,
# no network. What else it needs comes in the folder scripts/gpu_bundle.sh prepares here.
#   scripts/gpu_check.sh [--bundle DIR] [--out DIR] [--python PY] [--libtorch DIR]
#                        [--device cuda|cpu] [--budget_s S]
# --device cpu rehearses it all on a machine without a GPU (the CUDA tests skip, graphs fall back
# eagerly), e.g. in a clean root against a CPU LibTorch: a missing file fails there, not on the card.
# Each phase has a time limit within --budget_s (default 480); a phase that fails or runs out is
# reported and the next one runs. Exit 0 when every phase passed.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=build/gpu-bundle
out=${OUT:-build/gpu-check}
python=python3
libtorch=""
device=cuda
budget=480
while (( $# )); do
  case "$1" in
    --bundle) bundle=$2; shift ;;
    --out) out=$2; shift ;;
    --python) python=$2; shift ;;
    --libtorch) libtorch=$2; shift ;;
    --device) device=$2; shift ;;
    --budget_s) budget=$2; shift ;;
    *) echo "gpu_check: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
start=$SECONDS
work=build/gpu-check-work  # data links and run outputs; $out gets the report and 7 logs only
mkdir -p "$out" "$work"
report=$out/gpu_check.md
failed=0
note() { echo "$*" | tee -a "$report"; }
left() { echo $(( budget - (SECONDS - start) )); }
# phase NAME LIMIT_S LOG COMMAND...: runs COMMAND with a time limit (never past the budget), its
# output in LOG; reports the outcome and the log's last lines.
phase() {
  local name=$1 limit=$2 log=$out/$3; shift 3
  local remaining; remaining=$(left)
  (( limit > remaining )) && limit=$remaining
  if (( limit < 10 )); then note "- **$name**: skipped, the budget is spent"; failed=1; return 1; fi
  local t=$SECONDS rc=0
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1 || rc=$?
  if (( rc == 0 )); then
    note "- **$name**: passed in $(( SECONDS - t )) s"
  else
    failed=1
    (( rc == 124 )) && note "- **$name**: ran out of its $limit s" ||
      note "- **$name**: failed (exit $rc) after $(( SECONDS - t )) s"
    { echo '```'; tail -n 15 "$log"; echo '```'; } >> "$report"
  fi
  return $rc
}

: > "$report"
tree=$(git rev-parse --short HEAD 2>/dev/null || sed -n 's/^made at //p' "$bundle/MANIFEST" 2>/dev/null)
note "# acgan GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), ${tree:-commit unknown}"
[[ -f $bundle/deps/usr/include/CLI/CLI.hpp && -f $bundle/data/cifar-10-batches-bin/data_batch_1.bin ]] || {
  note "gpu_check: error: $bundle: not a folder from scripts/gpu_bundle.sh (run it here first and carry it)"
  exit 1
}
{
  echo '```'
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())"
  command -v nvcc >/dev/null && nvcc --version | tail -n 2 | head -n 1
  cmake --version | head -n 1; c++ --version | head -n 1; echo "$(nproc) CPUs"
  echo '```'
} >> "$report" 2>&1

# The data: the bundle's one training file under each of CIFAR-10's names (10,000 distinct images).
data=$work/data/cifar-10-batches-bin
mkdir -p "$data"
for name in data_batch_{1..5}.bin test_batch.bin; do
  ln -sf "$(cd "$bundle/data/cifar-10-batches-bin" && pwd)/data_batch_1.bin" "$data/$name"
done

libtorch=${libtorch:-$($python -c "import torch; print(torch.utils.cmake_prefix_path)")}
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$libtorch"
            -DACGAN_HEADER_DEPS="$(cd "$bundle/deps" && pwd)")
nvcc=$(command -v nvcc || true)
[[ -n $nvcc ]] && cmake_args+=(-DCUDAToolkit_ROOT="$(dirname "$(dirname "$(readlink -f "$nvcc")")")")
build=build-gpu
phase "configure (LibTorch at $libtorch)" 120 configure.log cmake -S . -B "$build" "${cmake_args[@]}"
phase "build acgan and acgan_bench" 300 build.log cmake --build "$build" --target acgan acgan_bench
grep -q "ACGAN_CUDA_GRAPHS" "$build/compile_commands.json" 2>/dev/null &&
  note "  (built with CUDA graphs)" || note "  (built without CUDA graphs: not a CUDA LibTorch)"
batches="100 1000"; precisions="fp32 bf16 fp16"; images=10000
[[ $device == cpu ]] && { batches=100; precisions="fp32 bf16"; images=2000; }
# The measurement first; the tests after it, with what is left.
if phase "benchmark (scripts/bench.sh)" 240 bench.log scripts/bench.sh --device "$device" \
    --build "$build" --python "$python" --root_dir "$work/data" --batch "$batches" \
    --precision "$precisions" --graphs "off on" --count_ops --repeats 1 --inner_repeats 3 \
    --images "$images"; then
  grep -E '^(\||device|step)' "$out/bench.log" >> "$report"
fi

for graphs in off on; do
  flags=(); [[ $graphs == on ]] && flags=(--cuda_graphs)
  phase "real CIFAR-10 run, 1 epoch of 10,000 images, graphs $graphs" 90 "run_graphs_$graphs.log" \
    "$build/acgan" --root_dir "$work/data" --outdir "$work/run_$graphs" --num_epochs 1 \
    --subset 10000 --device "$device" --overwrite "${flags[@]}"
  grep -E "epoch 1/1 done|cuda_graphs" "$out/run_graphs_$graphs.log" | sed 's/^/    /' >> "$report"
done

phase "build the tests" 240 build_tests.log cmake --build "$build" --target acgan_tests
phase "CUDA tests" 150 tests.log "$build/tests/acgan_tests" \
  --gtest_filter='CudaTest.*:MultiTensorAdam*:CudaGraphStepTest.*'
# GoogleTest's summary: the counts, and each failed test by name.
grep -E '^\[ +(PASSED|SKIPPED|FAILED) +\] [0-9]+ tests?|^\[ +FAILED +\] [A-Za-z]' "$out/tests.log" |
  head -n 20 | sed 's/^/    /' >> "$report"
note "total $(( SECONDS - start )) s of a $budget s budget; logs in $out"
exit $failed
