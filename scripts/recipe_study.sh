#!/usr/bin/env bash
# The recipe study (docs/better-samples.md): trains each configuration below on the real CIFAR-10
# for EPOCHS epochs with an evaluation by acgan's classifier after every epoch, one run per seed,
# then prints the Markdown table of scripts/study_table.py. Runs that finished are skipped, so the
# script can be stopped and started again.
#
# Usage: scripts/recipe_study.sh DATA_DIR CLASSIFIER OUTROOT [EPOCHS] [SEEDS]
#   e.g. scripts/recipe_study.sh ../shared/data classifier.pt study 3 "1 2"
#   CONFIGS="original mod" limits the configurations; ACGAN (default build/acgan) the binary.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
data=$1 classifier=$2 root=$3 epochs=${4:-3} seeds=${5:-"1 2"}
here=$(cd "$(dirname "$0")" && pwd)
acgan=${ACGAN:-$here/../build/acgan}

# name: flags (each alone against the original, and the recipe that combines them)
declare -A flags=(
  [original]=""
  [mod]="--recipe mod"
  [no_class_loss_on_fakes]="--d_class_loss_on_fakes off"
  [hinge]="--loss hinge"
  [sn_d]="--spectral_norm d"
  [sn_both]="--spectral_norm both"
  [g_ema]="--g_ema 0.999"
  [diffaugment]="--diffaugment color,translation,cutout"
  [label_smoothing]="--label_smoothing 0.1"
  [ttur]="--lr_g 0.0001 --lr_d 0.0004"
  [mod_tac]="--recipe mod --cond tac"
  [mod_adc]="--recipe mod --cond adc"
  # with the D updates a G update of their references' CIFAR-10 scripts (TAC-BigGAN 2, adcgan and
  # BigGAN 4), the same real images a run: fewer G updates
  [mod_d4]="--recipe mod --d_steps 4"
  [mod_tac_d2]="--recipe mod --cond tac --d_steps 2"
  [mod_adc_d4]="--recipe mod --cond adc --d_steps 4"
)
configs=${CONFIGS:-"original mod no_class_loss_on_fakes hinge sn_d sn_both g_ema diffaugment label_smoothing ttur mod_tac mod_adc mod_d4 mod_tac_d2 mod_adc_d4"}

for config in $configs; do
  [ -n "${flags[$config]+set}" ] || { echo "recipe_study: unknown configuration $config" >&2; exit 2; }
  for seed in $seeds; do
    out=$root/$config/seed$seed
    if [ -f "$out/done" ]; then continue; fi
    mkdir -p "$out"
    echo "== $config, seed $seed: $out"
    start=$(date +%s)
    # shellcheck disable=SC2086  # the flags split into words on purpose
    "$acgan" --root_dir "$data" --outdir "$out" --num_epochs "$epochs" --seed "$seed" \
      --eval_every 1 --eval_n 5000 --classifier "$classifier" --overwrite ${flags[$config]} \
      >"$root/$config.seed$seed.log" 2>&1
    echo $(( $(date +%s) - start )) >"$out/done"
  done
done
"$here/study_table.py" "$root"
