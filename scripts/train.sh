#!/usr/bin/env bash
# Quick start, part 1: sets up and builds (scripts/setup.sh), fetches CIFAR-10 into --root_dir when
# it is not there (scripts/get_cifar10.sh), and trains with the arguments given, e.g.
#   scripts/train.sh --root_dir data --num_epochs 300
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
root_dir=./
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --root_dir) root_dir=${args[i + 1]:-./} ;;
    --root_dir=*) root_dir=${args[i]#--root_dir=} ;;
  esac
done
scripts/get_cifar10.sh "$root_dir"
exec build/acgan "$@"
