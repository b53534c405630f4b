#!/bin/bash
# The whole training step, featreuse (`featreuse bench train`: the trainer's
# loop on in-memory random images) against PyTorch eager (train_reference.py:
# the same architecture, a fixed random batch, no loader), same threads, same
# machine, one after the other. Prints each pair and the ratio (>1: featreuse
# is faster). The issue's set: the demo's models at their size with batch 64,
# resnet50 and deit_small at 224 with batch 16. Usage:
#   benchmarks/train.sh [FEATREUSE] [THREADS]     (timm: FEATREUSE_TIMM_PATH, default /opt/featreuse/python)
# Then the demo's models through the loader of a prepared cache (loader + step)
# against the step alone. SMALL_ONLY=1 runs the demo's two models only (seconds, not minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
featreuse=${1:-$root/build/src/app/featreuse}
threads=${2:-$(nproc)}
timm=${FEATREUSE_TIMM_PATH:-/opt/featreuse/python}
export OMP_NUM_THREADS=$threads
source "$root/benchmarks/same_blas_kernels.sh"
run_pair() { # MODEL BATCH SIZE STEPS WARMUP
  local ours reference
  ours=$("$featreuse" bench train --model "$1" --batch "$2" --size "$3" --steps "$4" --warmup "$5" \
    --threads "$threads" --json)
  reference=$(/usr/bin/python3 "$root/benchmarks/train_reference.py" "$1" "$2" "$3" "$4" "$5" "$threads" \
    --timm "$timm")
  /usr/bin/python3 - "$ours" "$reference" << 'PYEOF'
import json, sys
ours, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{ours['model']:<13} batch {ours['batch']:>3} {ours['size']:>3} px: featreuse {ours['images_per_s']:8.1f} img/s, "
      f"PyTorch {ref['torch']} {ref['images_per_s']:8.1f} img/s, ratio {ours['images_per_s'] / ref['images_per_s']:.2f}x")
PYEOF
}
pipeline() { # MODEL DATASET CHANNELS CLASSES STEPS WARMUP: featreuse's step alone (random images
  # of DATASET's channels and classes) against loader + step on DATASET
  local alone whole
  alone=$("$featreuse" bench train --model "$1" --channels "$3" --classes "$4" --batch 64 --steps "$5" \
    --warmup "$6" --threads "$threads" --json)
  whole=$("$featreuse" bench train --model "$1" --dataset "$2" --batch 64 --steps "$5" --warmup "$6" \
    --threads "$threads" --json)
  /usr/bin/python3 - "$alone" "$whole" << 'PYEOF'
import json, sys
alone, whole = json.loads(sys.argv[1]), json.loads(sys.argv[2])
import os
print(f"{alone['model']:<13} on {os.path.basename(whole['dataset'])}: step alone {alone['images_per_s']:8.1f} img/s, "
      f"loader + step {whole['images_per_s']:8.1f} img/s ({whole['images_per_s'] / alone['images_per_s']:.2f}x)")
PYEOF
}
echo "$(getconf _NPROCESSORS_ONLN) cores, $threads threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
run_pair resnet_small 64 28 30 5
run_pair deit_micro 64 28 30 5
# Loader + step: a PCam-like prepared cache (synthetic 96x96 patches), brought to the demo's 28 px
# by the loader's augmentations on its worker thread, as `run` trains on a prepared dataset.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$featreuse" synth pcam --out "$work/pcam" --n 6000 > /dev/null
sed -e "s|^root: .*|root: $work/pcam|" -e "s|^cache: .*|cache: $work/pcam.h5|" \
  -e "s|^image_size: .*|image_size: 28|" -e "s|^resize: .*|resize: 32|" \
  "$root/configs/datasets/pcam.yaml" > "$work/pcam_like.yaml"
"$featreuse" prepare "$work/pcam_like.yaml" > /dev/null 2>&1
pipeline resnet_small "$work/pcam_like.yaml" 3 2 30 5
pipeline deit_micro "$work/pcam_like.yaml" 3 2 30 5
[ -n "${SMALL_ONLY:-}" ] || run_pair resnet50 16 224 5 2
[ -n "${SMALL_ONLY:-}" ] || run_pair deit_small 16 224 5 2
