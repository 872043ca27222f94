#!/usr/bin/env bash
# Training throughput of acgan against PyTorch eager (bench/pytorch_step.py: the original
# networks and step) on real CIFAR-10, alternating the two on the same threads; prints a table of
# images/s (median of the repeats), their ratio, achieved GFLOP/s and its fraction of this machine's
# matmul peak in the same precision, peak RSS and time from launch to the first finished step.
# Each precision runs both sides under autocast the same way (networks in low precision, losses in
# float32; fp16 with loss scaling, CUDA only).
#   scripts/bench.sh [--root_dir DIR] [--batch "10 100 500"] [--precision "fp32 bf16"]
#                    [--threads N] [--repeats N] [--device cpu|cuda] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=../shared/data; [[ -d $root_dir ]] || root_dir=data
batches="100"; precisions="fp32"; threads=$(nproc); repeats=5; device=cpu; images=1500
while (( $# )); do
  case "$1" in
    --root_dir) root_dir=$2; shift ;;
    --batch) batches=$2; shift ;;
    --precision) precisions=$2; shift ;;
    --threads) threads=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    --device) device=$2; shift ;;
    --quick) repeats=2; images=500 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
python=/usr/bin/python3
scripts/setup.sh >/dev/null
if ! $python -c "import torch" 2>/dev/null; then
  echo "bench.sh: installing python3-torch (the PyTorch side of the comparison)" >&2
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q python3-torch >/dev/null; else sudo apt-get install -y -q python3-torch >/dev/null; fi
fi
scripts/get_cifar10.sh "$root_dir"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for precision in $precisions; do
  for batch in $batches; do
    steps=$(( (images + batch - 1) / batch )); (( steps >= 3 )) || steps=3
    for ((r = 0; r < repeats; r++)); do
      matmul=""; (( r == 0 )) && matmul=--matmul
      common=(--root_dir "$root_dir" --batch_size "$batch" --threads "$threads" --device "$device"
              --precision "$precision" --steps "$steps")
      build/acgan_bench "${common[@]}" --t0 "$(date +%s.%N)" $matmul >> "$results"
      $python bench/pytorch_step.py "${common[@]}" --t0 "$(date +%s.%N)" >> "$results"
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
print("| precision | batch | acgan img/s | PyTorch img/s | ratio | acgan GFLOP/s | of peak | RSS acgan / PyTorch (MB) | first step acgan / PyTorch (s) |")
print("|---|---|---|---|---|---|---|---|---|")
for prec in precisions:
    for b in sorted({r["batch_size"] for r in rows}):
        ours = [r for r in rows if r["batch_size"] == b and r["impl"] == "acgan" and r["precision"] == prec]
        ref = [r for r in rows if r["batch_size"] == b and r["impl"] == "pytorch" and r["precision"] == prec]
        med = lambda rs, k: statistics.median(r[k] for r in rs)
        a, p = med(ours, "images_per_s"), med(ref, "images_per_s")
        gflops = ours[0]["step_gflop"] / b * a
        print(f"| {prec} | {b} | {a:.1f} | {p:.1f} | {a / p:.2f}x | {gflops:.0f} | {gflops / peak[prec]:.0%} | "
              f"{med(ours, 'peak_rss_mb'):.0f} / {med(ref, 'peak_rss_mb'):.0f} | "
              f"{med(ours, 'first_step_s'):.1f} / {med(ref, 'first_step_s'):.1f} |")
print(f"step at batch 100: {[r for r in rows if r['impl'] == 'acgan'][0]['step_gflop'] / rows[0]['batch_size'] * 100:.1f} GFLOP (computed from the layer shapes)")
PY
