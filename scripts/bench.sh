#!/usr/bin/env bash
# Training throughput of acgan against PyTorch eager (bench/pytorch_step.py: the original
# networks and step) on real CIFAR-10, alternating the two on the same threads; prints a table of
# images/s (median of the repeats), their ratio, achieved GFLOP/s and its fraction of this machine's
# matmul peak in the same precision, peak RSS and time from launch to the first finished step.
# Each precision runs both sides under autocast the same way (networks in low precision, losses in
# float32; fp16 with loss scaling, CUDA only).
#   scripts/bench.sh [--root_dir DIR] [--batch "10 100 500"] [--precision "fp32 bf16"]
#                    [--threads N] [--repeats N] [--device cpu|cuda] [--quick] [--images N]
#                    [--graphs "off on"] [--count_ops] [--inner_repeats N] [--python PY]
#                    [--libtorch DIR] [--build DIR]
# --inner_repeats: timed repeats inside each process (--repeats: processes, alternating sides);
# --graphs: acgan's step eager (off) and/or captured as a CUDA graph (on; cuda_graph_step.h);
# --count_ops: acgan's operations per step (op_counter.h; with graphs: what the host still
# dispatches) and, on CUDA, both sides' kernels per step (Kineto: torch.profiler in Python,
# count_cuda_kernels in C++); --build DIR: an acgan_bench already built there
# (scripts/gpu_check.sh), nothing installed or built.
# On the CPU both sides use Debian's LibTorch 1.13 (C++: build/, Python: /usr/bin/python3). With
# --device cuda the PyTorch side is PY (default python3, a torch with CUDA) and acgan_bench is built
# into build-cuda/ against DIR (default: that torch's own LibTorch, torch.utils.cmake_prefix_path),
# so both sides again run the same LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=../shared/data; [[ -d $root_dir ]] || root_dir=data
batches="100"; precisions="fp32"; threads=$(nproc); repeats=5; device=cpu; images=1500
python=""; libtorch=""; graphs=off; count_ops=false; build=""; inner_repeats=1
while (( $# )); do
  case "$1" in
    --root_dir) root_dir=$2; shift ;;
    --batch) batches=$2; shift ;;
    --precision) precisions=$2; shift ;;
    --threads) threads=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --device) device=$2; shift ;;
    --quick) repeats=2; images=500 ;;
    --python) python=$2; shift ;;
    --libtorch) libtorch=$2; shift ;;
    --images) images=$2; shift ;;
    --graphs) graphs=$2; shift ;;
    --count_ops) count_ops=true ;;
    --inner_repeats) inner_repeats=$2; shift ;;
    --build) build=$2; shift ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $build ]]; then
  bench=$build/acgan_bench
  [[ -x $bench ]] || { echo "bench.sh: error: --build $build: no acgan_bench built there" >&2; exit 1; }
  python=${python:-python3}
  if ! $python -c "import torch, numpy" 2>/dev/null; then
    echo "bench.sh: error: --build: the PyTorch side needs a Python with torch and numpy; $python has none (pass --python PY)" >&2
    exit 1
  fi
elif [[ $device == cuda* ]]; then
  scripts/setup.sh >/dev/null
  python=${python:-python3}
  if ! $python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "bench.sh: error: --device $device needs a Python whose torch sees a CUDA GPU ($python does not); pass --python" >&2
    exit 1
  fi
  libtorch=${libtorch:-$($python -c "import torch; print(torch.utils.cmake_prefix_path)")}
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DACGAN_BUILD_TESTS=OFF \
    -DCMAKE_PREFIX_PATH="$libtorch" >/dev/null
  cmake --build build-cuda --target acgan_bench
  bench=build-cuda/acgan_bench
else
  scripts/setup.sh >/dev/null
  bench=build/acgan_bench
  python=${python:-/usr/bin/python3}
  if [[ $python == /usr/bin/python3 ]] && ! $python -c "import torch" 2>/dev/null; then
    echo "bench.sh: installing python3-torch (the PyTorch side of the comparison)" >&2
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q python3-torch >/dev/null; else sudo apt-get install -y -q python3-torch >/dev/null; fi
  fi
fi
scripts/get_cifar10.sh "$root_dir"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for precision in $precisions; do
  for batch in $batches; do
    steps=$(( (images + batch - 1) / batch )); (( steps >= 3 )) || steps=3
    for ((r = 0; r < repeats; r++)); do
      first=(); (( r == 0 )) && first=(--matmul)
      counting=(); [[ $count_ops == true ]] && (( r == 0 )) && counting=(--count_ops)
      common=(--root_dir "$root_dir" --batch_size "$batch" --threads "$threads" --device "$device"
              --precision "$precision" --steps "$steps" --repeats "$inner_repeats")
      for graph in $graphs; do
        graph_flag=(); [[ $graph == on ]] && graph_flag=(--cuda_graphs)
        "$bench" "${common[@]}" --t0 "$(date +%s.%N)" "${first[@]}" "${counting[@]}" \
          "${graph_flag[@]}" >> "$results"
      done
      kernels=(); [[ $device == cuda* ]] && (( ${#counting[@]} )) && kernels=(--count_kernels)
      $python bench/pytorch_step.py "${common[@]}" --t0 "$(date +%s.%N)" "${kernels[@]}" >> "$results"
    done
  done
done

$python - "$results" "$device" "$threads" "$repeats" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
device, threads, repeats = sys.argv[2], sys.argv[3], sys.argv[4]
precisions = list(dict.fromkeys(r["precision"] for r in rows))
peak = {p: max(r.get("matmul_peak_gflops", 0) for r in rows if r["precision"] == p) for p in precisions}
print(f"device {device}, {threads} threads, median of {repeats} alternating runs; matmul peak "
      + ", ".join(f"{p} {peak[p]:.0f} GFLOP/s" for p in precisions))
print("| precision | batch | graphs | acgan img/s | PyTorch img/s | ratio | acgan GFLOP/s | of peak | "
      "per step: acgan ops / acgan kernels / PyTorch kernels | RSS acgan / PyTorch (MB) | first step acgan / PyTorch (s) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
med = lambda rs, k: statistics.median(r[k] for r in rs)
counted = lambda rs, k: next((str(r[k]) for r in rs if r.get(k, 0) > 0), "-")
for prec in precisions:
    for b in sorted({r["batch_size"] for r in rows}):
        ref = [r for r in rows if r["batch_size"] == b and r["impl"] == "pytorch" and r["precision"] == prec]
        for graphed in (False, True):
            ours = [r for r in rows if r["batch_size"] == b and r["impl"] == "acgan" and r["precision"] == prec
                    and r.get("cuda_graphs", False) == graphed]
            if not ours or not ref:
                continue
            a, p = med(ours, "images_per_s"), med(ref, "images_per_s")
            gflops = ours[0]["step_gflop"] / b * a
            print(f"| {prec} | {b} | {'on' if graphed else 'off'} | {a:.1f} | {p:.1f} | {a / p:.2f}x | {gflops:.0f} | "
                  f"{gflops / peak[prec]:.0%} | {counted(ours, 'ops_per_step')} / {counted(ours, 'kernels_per_step')} / "
                  f"{counted(ref, 'kernels_per_step')} | "
                  f"{med(ours, 'peak_rss_mb'):.0f} / {med(ref, 'peak_rss_mb'):.0f} | "
                  f"{med(ours, 'first_step_s'):.1f} / {med(ref, 'first_step_s'):.1f} |")
print(f"step at batch 100: {[r for r in rows if r['impl'] == 'acgan'][0]['step_gflop'] / rows[0]['batch_size'] * 100:.1f} GFLOP (computed from the layer shapes)")
PY
