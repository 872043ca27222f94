#!/usr/bin/env bash
# scripts/plot_metrics.py on a small metrics.csv: writes the three PNGs; a missing file is one
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
"$python" "$root/scripts/plot_metrics.py" "$tmp" --smooth 10 > /dev/null
for f in losses accuracy d_outputs; do
  [[ -s "$tmp/plots/$f.png" ]] || { echo "FAIL: $f.png missing"; exit 1; }
  [[ "$(head -c 8 "$tmp/plots/$f.png" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] || { echo "FAIL: $f.png not a PNG"; exit 1; }
done
if "$python" "$root/scripts/plot_metrics.py" "$tmp/absent" 2> "$tmp/err"; then echo "FAIL: missing dir accepted"; exit 1; fi
grep -q "absent/metrics.csv" "$tmp/err" || { echo "FAIL: message: $(cat "$tmp/err")"; exit 1; }
echo "plot_metrics_test: 2 passed, 0 failed"
