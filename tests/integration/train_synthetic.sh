#!/bin/bash
# Every synthetic public layout, prepared (2 ranks) and trained through
# `featreuse run` with the shipped dataset configs (paths and sizes overridden
# to keep it small): every cell finishes, the easy signals are learnt, and a
# cell whose cache is missing fails with the command that makes it.
source "$(dirname "$0")/lib.sh"

CONFIGS=$WORK/configs
mkdir -p "$CONFIGS/datasets" "$CONFIGS/models" "$CONFIGS/recipes"
cp "$SOURCE_DIR/tests/data/configs/models/tiny.yaml" "$CONFIGS/models/"
cp "$SOURCE_DIR/tests/data/configs/recipes/default.yaml" "$CONFIGS/recipes/"

# name layout n shipped-config (mpirun reads stdin: keep it off the list)
while read -r name layout n config; do
  "$FEATREUSE" synth "$layout" --out "$WORK/$name" --n "$n" > /dev/null < /dev/null
  # The shipped config with this data's root and cache and small crops.
  sed -e "s|^root: .*|root: $WORK/$name|" -e "s|^cache: .*|cache: $WORK/$name.h5|" \
      -e "s|^image_size: .*|image_size: 48|" -e "s|^resize: .*|resize: 56|" \
      "$SOURCE_DIR/configs/datasets/$config.yaml" > "$CONFIGS/datasets/$name.yaml"
  $MPIRUN 2 "$FEATREUSE" prepare "$CONFIGS/datasets/$name.yaml" > /dev/null 2> "$WORK/$name.log" < /dev/null ||
    { cat "$WORK/$name.log"; fail "prepare $name failed"; }
done <<'LIST'
syn_aptos aptos2019 100 aptos2019
syn_isic isic2019 96 isic2019
syn_chexpert chexpert 150 chexpert
syn_ddsm cbis_ddsm 90 cbis_ddsm
syn_pcam pcam 240 pcam
syn_folder folder 90 folder_example
syn_csv csv 90 csv_example
LIST

# A dataset whose cache was never prepared: its cell fails saying how to make it.
sed -e "s|^cache: .*|cache: $WORK/never.h5|" "$CONFIGS/datasets/syn_aptos.yaml" > "$CONFIGS/datasets/syn_missing.yaml"

cat > "$WORK/job.yaml" <<'EOF2'
name: synthetic
configs: configs
overrides:
  recipe: {epochs: 4, batch_size: 16, eval_batch_size: 64, lr: 0.003}
grid:
  model: [tiny]
  dataset: [syn_aptos, syn_isic, syn_chexpert, syn_ddsm, syn_pcam, syn_folder, syn_csv, syn_missing]
# The layer-wise k-NN on a multi-label set (its bank's labels are N x 14) and a single-label one.
analyses:
  knn: {cells: {dataset: [syn_chexpert, syn_isic]}}
EOF2
$MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$WORK/s.h5" 2> "$WORK/run.log" ||
  { tail -40 "$WORK/run.log"; fail "training on the synthetic sets failed"; }
check_py counts "$WORK/s.h5" 9 1 0
check_py analyses "$WORK/s.h5" 2
check_py message "$WORK/s.h5" "make it with: featreuse prepare aptos2019 --root $WORK/syn_aptos --out $WORK/never.h5" 1
"$PY" - "$WORK/s.h5" <<'PY' || fail "metrics"
import sys
import h5py, numpy as np, pandas as pd
df = pd.DataFrame(h5py.File(sys.argv[1], "r")["results"][()])
df = df[(df.kind == b"cell") & (df.status == b"done")]
# Clearly above chance where the synthetic signal is strong (4 tiny epochs).
floor = {"syn_pcam": 0.8, "syn_ddsm": 0.8, "syn_csv": 0.6, "syn_folder": 0.5, "syn_aptos": 0.2}
for _, row in df.iterrows():
    key = row.key.decode()
    name = key.split("dataset=")[1].split()[0]
    print(key, row.target_metric.decode(), round(float(row.target), 3))
    assert np.isfinite(row.target), key
    assert row.target >= floor.get(name, -1), f"{name}: {row.target_metric.decode()} {row.target} below {floor[name]}"
PY
# The benchmark's whole pipeline (loader + step) on a prepared cache: the
# dataset's size, channels and classes hold, and too few images are named.
"$FEATREUSE" bench train --model tiny --configs "$CONFIGS" --dataset syn_pcam --batch 16 --steps 3 --warmup 1 \
  --threads 1 --json > "$WORK/bench.json" 2> "$WORK/bench.log" || { cat "$WORK/bench.log"; fail "bench train --dataset"; }
"$PY" - "$WORK/bench.json" <<'PY' || { cat "$WORK/bench.json"; fail "bench train --dataset: result"; }
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["dataset"] == "syn_pcam" and r["size"] == 48 and r["steps"] == 3, r
assert r["images_per_s"] > 0, r
PY
rc=0
"$FEATREUSE" bench train --model tiny --configs "$CONFIGS" --dataset syn_pcam --batch 16 --steps 1000 \
  > /dev/null 2> "$WORK/bench.log" || rc=$?
[ "$rc" = 1 ] && grep -q "dataset 'syn_pcam' has [0-9]* training images, fewer than the 16000" "$WORK/bench.log" ||
  { cat "$WORK/bench.log"; fail "bench train --dataset with too few images: exit $rc"; }
# Under mpirun: 2 ranks as 2 groups of 1 (a rate for each, the printed rate
# their sum) or one group of 2; a group size that does not divide the ranks is named.
for per_task in 1 2; do
  $MPIRUN 2 "$FEATREUSE" bench train --model tiny --configs "$CONFIGS" --size 28 --batch 8 --steps 3 --warmup 0 \
    --threads 1 --ranks-per-task $per_task --json > "$WORK/groups.json" 2> "$WORK/bench.log" ||
    { cat "$WORK/bench.log"; fail "bench train --ranks-per-task $per_task"; }
  "$PY" - "$WORK/groups.json" "$per_task" <<'PY' || { cat "$WORK/groups.json"; fail "bench train groups: result"; }
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines  # rank 0 alone prints
r = json.loads(lines[0])
assert r["ranks"] == 2 and r["ranks_per_task"] == int(sys.argv[2]), r
groups = r["group_images_per_s"]  # one rate per group, the printed rate their sum
assert len(groups) == 2 // int(sys.argv[2]) and all(g > 0 for g in groups), r
assert abs(sum(groups) - r["images_per_s"]) <= 0.002 * len(groups), r
PY
done
rc=0
$MPIRUN 2 "$FEATREUSE" bench train --model tiny --configs "$CONFIGS" --size 28 --batch 8 --steps 3 \
  --ranks-per-task 3 > /dev/null 2> "$WORK/bench.log" || rc=$?
[ "$rc" != 0 ] && grep -q "ranks-per-task 3 must divide the number of ranks (2)" "$WORK/bench.log" ||
  { cat "$WORK/bench.log"; fail "bench train --ranks-per-task 3 of 2 ranks: exit $rc"; }
echo "PASS train_synthetic"
