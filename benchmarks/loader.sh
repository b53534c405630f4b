#!/usr/bin/env bash
# Loader and prepare throughput: featreuse against the reference's Python
# pipeline (PIL + torchvision transforms + DataLoader) on the same machine in
# the same run. Not a test: numbers go to docs/performance.md.
#
#   benchmarks/loader.sh [FEATREUSE] [WORKDIR]
# Three synthetic sets: N_BIG APTOS-like PNGs of SIZE (prepare, and the
# reference's loader on the original files), N_SMALL APTOS-like PNGs of
# 256x256 (loaders with decoding at its cheapest for Python), PCAM_N PCam
# patches (the official HDF5 files; Python reads them as PNGs, as the
# reference converts them).
# Environment: N_BIG (default 96), SIZE (default 2000x1500), N_SMALL (default
# 1024), PCAM_N (default 4096), WORKERS (default "1 2"), BATCHES (default 20),
# REPEATS (default 3: the best of each is kept; shared machines are noisy).
set -euo pipefail
FEATREUSE=${1:-build/src/app/featreuse}
WORK=${2:-$(mktemp -d /tmp/featreuse-bench.XXXXXX)}
N_BIG=${N_BIG:-96}
SIZE=${SIZE:-2000x1500}
N_SMALL=${N_SMALL:-1024}
PCAM_N=${PCAM_N:-4096}
WORKERS=${WORKERS:-"1 2"}
BATCHES=${BATCHES:-20}
REPEATS=${REPEATS:-3}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
PIPE="$PY $HERE/python_pipeline.py"
export FEATREUSE_LOG_LEVEL=warn OMP_NUM_THREADS=1

rate() { sed -n 's/.*"img_per_s": \([0-9.]*\).*/\1/p'; }
best() {  # best img/s of REPEATS runs of a command printing one JSON line
  local top=0 r
  for _ in $(seq "$REPEATS"); do
    r=$("$@" | rate)
    top=$($PY -c "print(f'{max($top, $r):.1f}')")
  done
  echo "$top"
}
ratio() { $PY -c "print(f'{$1 / $2:.2f}')"; }

echo "machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "work dir: $WORK"
[ -f "$WORK/aptos/train.csv" ] || "$FEATREUSE" synth aptos2019 --out "$WORK/aptos" --n "$N_BIG" --size "$SIZE" > /dev/null
[ -f "$WORK/small/train.csv" ] || "$FEATREUSE" synth aptos2019 --out "$WORK/small" --n "$N_SMALL" --size 256x256 --seed 2 > /dev/null
if [ ! -d "$WORK/pcam_png" ]; then
  "$FEATREUSE" synth pcam --out "$WORK/pcam" --n "$PCAM_N" > /dev/null
  $PIPE topng "$WORK/pcam/camelyonpatch_level_2_split_train_x.h5" "$WORK/pcam_png"
fi
[ -f "$WORK/small.h5" ] || "$FEATREUSE" prepare aptos2019 --root "$WORK/small" --out "$WORK/small.h5" > /dev/null
[ -f "$WORK/pcam.h5" ] || "$FEATREUSE" prepare pcam --root "$WORK/pcam" --out "$WORK/pcam.h5" > /dev/null
cat "$WORK"/aptos/train_images/*.png "$WORK"/small/train_images/*.png "$WORK"/pcam_png/*.png > /dev/null  # warm page cache for both sides
echo "sets: $N_BIG APTOS-like PNGs of $SIZE ($(du -sh "$WORK/aptos/train_images" | cut -f1)), $N_SMALL of 256x256, $PCAM_N PCam patches"
echo
printf "%-44s %8s %12s %12s %7s\n" "measurement" "workers" "featreuse" "python" "ratio"
for W in $WORKERS; do
  # (a) prepare: decode + convert + resize to 256 (featreuse: 1 rank, W threads; python: a pool of W).
  ours=0
  for _ in $(seq "$REPEATS"); do
    rm -f "$WORK/aptos.h5"
    r=$("$FEATREUSE" prepare aptos2019 --root "$WORK/aptos" --out "$WORK/aptos.h5" --threads "$W" |
        sed -n 's/.*(\([0-9.]*\) img\/s).*/\1/p')
    ours=$($PY -c "print(f'{max($ours, $r):.1f}')")
  done
  theirs=$(best $PIPE prepare "$WORK/aptos" "$W")
  printf "%-44s %8s %12s %12s %7s\n" "prepare APTOS-like (img/s)" "$W" "$ours" "$theirs" "$(ratio "$ours" "$theirs")"
done
for W in $WORKERS; do
  # (b) training loader: batches of 64 at 224 with the augmentations. featreuse reads the 256x256 cache
  # (its speed does not depend on the original size); python decodes the PNG files every epoch.
  ours=$(best "$FEATREUSE" bench loader --cache "$WORK/small.h5" --batch 64 --batches "$BATCHES" --workers "$W" --json)
  ref=$(best $PIPE loader aptos "$WORK/aptos" "$W" 3)
  theirs=$(best $PIPE loader aptos "$WORK/small" "$W" "$BATCHES")
  printf "%-44s %8s %12s %12s %7s\n" "train loader vs reference, ${SIZE} PNGs" "$W" "$ours" "$ref" "$(ratio "$ours" "$ref")"
  printf "%-44s %8s %12s %12s %7s\n" "train loader vs 256x256 PNGs" "$W" "$ours" "$theirs" "$(ratio "$ours" "$theirs")"
  ours=$(best "$FEATREUSE" bench loader --cache "$WORK/pcam.h5" --batch 64 --batches "$BATCHES" --workers "$W" --json)
  theirs=$(best $PIPE loader pngdir "$WORK/pcam_png" "$W" "$BATCHES")
  printf "%-44s %8s %12s %12s %7s\n" "train loader, PCam-like (96 -> 256 -> 224)" "$W" "$ours" "$theirs" "$(ratio "$ours" "$theirs")"
done
echo
echo "featreuse: prepare with 1 rank and W decoding threads; loader with W loader threads + the caller, ATen 1 thread."
echo "python: multiprocessing.Pool(W) for prepare; DataLoader(num_workers=W, persistent_workers) for the loader, torch 1 thread."
