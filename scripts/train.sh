#!/usr/bin/env bash
# Quick start, part 1: sets up and builds (scripts/setup.sh), fetches CIFAR-10 into --root_dir when
# it is not there (scripts/get_cifar10.sh) and no other data set is asked for (--dataset) or there
# (CIFAR-100 or MNIST / Fashion-MNIST files: acgan reads those), and trains with the arguments
# given, e.g.
#   scripts/train.sh --root_dir data --num_epochs 300
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
root_dir=./
dataset=auto
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --root_dir) root_dir=${args[i + 1]:-./} ;;
    --root_dir=*) root_dir=${args[i]#--root_dir=} ;;
    --dataset) dataset=${args[i + 1]:-auto} ;;
    --dataset=*) dataset=${args[i]#--dataset=} ;;
  esac
done
# Another data set's files in root_dir (docs/datasets.md's layouts): nothing to fetch. An image
# folder is not guessed here: give --dataset folder.
holds_other_data() {
  compgen -G "$1/train.bin" || compgen -G "$1/cifar-100-binary" || compgen -G "$1/*-ubyte*" ||
    compgen -G "$1/*/*-ubyte*" || compgen -G "$1/*/raw/*-ubyte*"
} > /dev/null
if [[ "$dataset" == cifar10 ]] || { [[ "$dataset" == auto ]] && ! holds_other_data "$root_dir"; }; then
  scripts/get_cifar10.sh "$root_dir"
fi
exec build/acgan "$@"
