#!/usr/bin/env bash
# scripts/plot_metrics.py on a small metrics.csv and eval.csv: writes the four PNGs; a missing file is one
# error line and a non-zero exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "epoch,iteration,step,loss_d,loss_g,acc_real,acc_fake,d_x,d_g_z1,d_g_z2,images_per_s"
  for i in $(seq 1 120); do echo "0,$((i - 1)),$i,1.$i,2.$i,$((i % 100)),$((i % 50)),0.6,0.4,0.3,150.0"; done
} > "$tmp/metrics.csv"
{
  echo "step,epoch,fid,is_mean,is_std,classifier_accuracy,classifier_accuracy_real,ms_ssim_mean,ms_ssim_real_mean"
  for e in 1 2 3; do echo "$((e * 40)),$e,$((100 - e)).5,2.$e,0.1,0.$e,0.91,0.3,0.09"; done
} > "$tmp/eval.csv"
"$python" "$root/scripts/plot_metrics.py" "$tmp" --smooth 10 > /dev/null
for f in losses accuracy d_outputs eval; do
  [[ -s "$tmp/plots/$f.png" ]] || { echo "FAIL: $f.png missing"; exit 1; }
  [[ "$(head -c 8 "$tmp/plots/$f.png" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] || { echo "FAIL: $f.png not a PNG"; exit 1; }
done
if "$python" "$root/scripts/plot_metrics.py" "$tmp/absent" 2> "$tmp/err"; then echo "FAIL: missing dir accepted"; exit 1; fi
grep -q "absent/metrics.csv" "$tmp/err" || { echo "FAIL: message: $(cat "$tmp/err")"; exit 1; }
echo "plot_metrics_test: 3 passed, 0 failed"
