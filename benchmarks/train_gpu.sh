#!/bin/bash
# The training step on a GPU, featreuse (`featreuse bench train --device cuda`)
# against the same machine's PyTorch (train_reference.py: eager fp32, eager
# bf16 autocast with channels_last for CNNs, and torch.compile bf16; featreuse's
# bf16 CNN runs use the recipe's channels_last too, and once more as CUDA
# graphs: the recipe's cuda_graphs), batch 64
# at 224 px, one after the other. Prints each model's numbers and ratios
# (>1: featreuse is faster). Usage: benchmarks/train_gpu.sh [FEATREUSE]
# (timm from the machine's Python, or FEATREUSE_TIMM_PATH). Last, resnet50 through the
# whole pipeline (loader + step) against the step alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
featreuse=${1:-$root/build-gpu/src/app/featreuse}
timm=${FEATREUSE_TIMM_PATH:-}
steps=${STEPS:-50}
ours() { "$featreuse" bench train --model "$1" --batch 64 --size 224 --steps "$steps" --warmup 10 --device cuda \
  "${@:2}" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['images_per_s'])"; }
theirs() { python3 "$root/benchmarks/train_reference.py" "$1" 64 224 "$steps" 10 8 --device cuda --timm "$timm" \
  "${@:2}" | python3 -c "import json,sys; print(json.load(sys.stdin)['images_per_s'])"; }
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}x')" "$1" "$2"; }  # nan: a run failed
nvidia-smi --query-gpu=name --format=csv,noheader | head -1
python3 -c "import torch; print('PyTorch', torch.__version__, '(TF32 for convolutions:', torch.backends.cudnn.allow_tf32, ')')"
for model in resnet50 deit_small inception_v3 swin_tiny; do
  layout=()  # the CNNs' bf16 runs in NHWC on both sides, as the reference does
  case $model in resnet50 | inception_v3) layout=(--channels-last) ;; esac
  # A run that fails prints nan (its error goes to stderr) and the others go on.
  f32=$(ours $model || echo nan)
  b16=$(ours $model --amp "${layout[@]}" || echo nan)
  e32=$(theirs $model || echo nan)
  e16=$(theirs $model --amp || echo nan)
  g16=$(ours $model --amp "${layout[@]}" --cuda-graphs || echo nan)
  c16=$(theirs $model --amp --compile || echo nan)
  printf '%-12s featreuse fp32 %7.1f bf16 %7.1f graphed %7s img/s | PyTorch eager fp32 %7.1f bf16 %7.1f compile bf16 %7s | ' \
    "$model" "$f32" "$b16" "$g16" "$e32" "$e16" "$c16"
  echo "fp32/eager $(ratio "$f32" "$e32"), bf16/eager $(ratio "$b16" "$e16"), bf16/compile $(ratio "$b16" "$c16"), graphed/compile $(ratio "$g16" "$c16")"
done

# The whole pipeline against the step alone (the goal: within 5%): resnet50
# bf16 NHWC on an APTOS-like prepared cache of synthetic 256x256 images, the
# loader's augmentations on the device, against the same on random images.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$featreuse" synth aptos2019 --out "$work/aptos" --n "${PIPELINE_IMAGES:-6000}" --size 256x256 > /dev/null
sed -e "s|^root: .*|root: $work/aptos|" -e "s|^cache: .*|cache: $work/aptos.h5|" \
  "$root/configs/datasets/aptos2019.yaml" > "$work/aptos.yaml"
"$featreuse" prepare "$work/aptos.yaml" > /dev/null
alone=$(ours resnet50 --amp --channels-last --classes 5 || echo nan)
whole=$("$featreuse" bench train --model resnet50 --dataset "$work/aptos.yaml" --batch 64 --steps "$steps" \
  --warmup 10 --device cuda --amp --channels-last --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['images_per_s'])" || echo nan)
printf 'resnet50 bf16 loader + step on an APTOS-like cache %7.1f img/s, step alone %7.1f img/s: %s\n' \
  "$whole" "$alone" "$(ratio "$whole" "$alone")"
