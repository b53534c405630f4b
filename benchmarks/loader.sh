#!/usr/bin/env bash
# Loader and prepare throughput: featreuse against the reference's Python
# pipeline (PIL + torchvision transforms + DataLoader) on the same machine in
# the same run. Not a test: numbers go to docs/performance.md.
#
#   benchmarks/loader.sh [FEATREUSE] [WORKDIR]
# Environment: N (APTOS-like images, default 96), SIZE (default 2000x1500),
# PCAM_N (default 4096), WORKERS (default "1 2"), BATCHES (default 20),
# REPEATS (default 3: the best of each is kept; shared machines are noisy).
set -euo pipefail
FEATREUSE=${1:-build/src/app/featreuse}
WORK=${2:-$(mktemp -d /tmp/featreuse-bench.XXXXXX)}
N=${N:-96}
SIZE=${SIZE:-2000x1500}
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
if [ ! -f "$WORK/aptos/train.csv" ]; then
  "$FEATREUSE" synth aptos2019 --out "$WORK/aptos" --n "$N" --size "$SIZE" > /dev/null
  "$FEATREUSE" synth pcam --out "$WORK/pcam" --n "$PCAM_N" > /dev/null
  $PIPE resize "$WORK/aptos" "$WORK/aptos256"
  $PIPE topng "$WORK/pcam/camelyonpatch_level_2_split_train_x.h5" "$WORK/pcam_png"
fi
cat "$WORK"/aptos/train_images/*.png > /dev/null  # both sides start from a warm page cache
echo "APTOS-like: $N PNGs of $SIZE ($(du -sh "$WORK/aptos/train_images" | cut -f1)); PCam-like: $PCAM_N patches"
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
[ -f "$WORK/pcam.h5" ] || "$FEATREUSE" prepare pcam --root "$WORK/pcam" --out "$WORK/pcam.h5" > /dev/null
for W in $WORKERS; do
  ours=$(best "$FEATREUSE" bench loader --cache "$WORK/aptos.h5" --batch 64 --batches "$BATCHES" --workers "$W" --json)
  ref=$(best $PIPE loader aptos "$WORK/aptos" "$W" 3)
  small=$(best $PIPE loader resized "$WORK/aptos256" "$W" "$BATCHES")
  printf "%-44s %8s %12s %12s %7s\n" "train loader vs reference (full-size PNGs)" "$W" "$ours" "$ref" "$(ratio "$ours" "$ref")"
  printf "%-44s %8s %12s %12s %7s\n" "train loader vs 256x256 PNGs (best Python)" "$W" "$ours" "$small" "$(ratio "$ours" "$small")"
  ours=$(best "$FEATREUSE" bench loader --cache "$WORK/pcam.h5" --batch 64 --batches "$BATCHES" --workers "$W" --json)
  theirs=$(best $PIPE loader pngdir "$WORK/pcam_png" "$W" "$BATCHES")
  printf "%-44s %8s %12s %12s %7s\n" "train loader PCam-like (96 -> 256 -> 224)" "$W" "$ours" "$theirs" "$(ratio "$ours" "$theirs")"
done
echo
echo "featreuse: prepare with 1 rank and W decoding threads; loader with W loader threads + the caller, ATen 1 thread."
echo "python: multiprocessing.Pool(W) for prepare; DataLoader(num_workers=W) for the loader, torch 1 thread."
