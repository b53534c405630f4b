#!/bin/bash
# `featreuse prepare` under mpirun: 2 ranks give the same cache as 1 rank (images,
# labels, splits, statistics, skipped list), a corrupt image is skipped and listed,
# the cache matches PIL's Resize((256, 256)) exactly and the reference's split,
# PCam rows are the official files' patches, and a rerun does nothing.
source "$(dirname "$0")/lib.sh"

"$FEATREUSE" synth aptos2019 --out "$WORK/aptos" --n 40 --size 500x375 > /dev/null
bad=$(sed -n '5p' "$WORK/aptos/train.csv" | cut -d, -f1)   # row 3 (0-based) of the table
head -c 2000 "$WORK/aptos/train_images/$bad.png" > "$WORK/trunc.png" && mv "$WORK/trunc.png" "$WORK/aptos/train_images/$bad.png"

"$FEATREUSE" prepare aptos2019 --root "$WORK/aptos" --out "$WORK/one.h5" --threads 2 > "$WORK/one.txt" 2> "$WORK/one.log" ||
  { cat "$WORK/one.log"; fail "1-rank prepare failed"; }
$MPIRUN 2 "$FEATREUSE" prepare aptos2019 --root "$WORK/aptos" --out "$WORK/two.h5" --threads 1 > "$WORK/two.txt" 2> "$WORK/two.log" ||
  { cat "$WORK/two.log"; fail "2-rank prepare failed"; }
grep -q "40 (39 ok, 1 skipped)" "$WORK/two.txt" || { cat "$WORK/two.txt"; fail "the corrupt image was not skipped"; }
grep -q "skipped train_images/$bad.png" "$WORK/two.log" || fail "the skipped image is not in the log"
$MPIRUN 2 "$FEATREUSE" prepare aptos2019 --root "$WORK/aptos" --out "$WORK/two.h5" > "$WORK/again.txt" 2>&1 ||
  fail "rerun failed"
grep -q "already prepared, nothing done" "$WORK/again.txt" || fail "a finished cache was prepared again"

"$PY" - "$WORK" "$bad" <<'PY' || fail "cache checks"
import random, sys
import h5py, numpy as np
from PIL import Image
work, bad = sys.argv[1], sys.argv[2]
one, two = h5py.File(f"{work}/one.h5", "r"), h5py.File(f"{work}/two.h5", "r")
for key in ["images", "labels", "status", "splits/train", "splits/val", "splits/test", "stats/mean", "stats/std",
            "skipped", "pixel_sum"]:
    a, b = one[key][()], two[key][()]
    ok = np.array_equal(a, b) if a.dtype.kind != "f" else np.allclose(a, b, rtol=1e-12, atol=0)
    assert ok, f"{key} differs between 1 and 2 ranks"
assert two.attrs["complete"] == 1
assert list(two["skipped"][()]) and bad in two["skipped"][0].decode(), two["skipped"][()]
# The reference's split: random.Random(42).shuffle(range(40)), 12 held out, minus the skipped row 3.
idx = list(range(40)); random.Random(42).shuffle(idx)
held, train = idx[:12], idx[12:]
want = {"train": train, "val": held[:6], "test": held[6:]}
for k, v in want.items():
    got = list(two[f"splits/{k}"][()])
    assert got == [i for i in v if i != 3], (k, got)
# Cached pixels are PIL's convert("RGB").resize((256, 256), BILINEAR), bit for bit.
src = [s.decode() for s in two["source"][()]]
for i in (0, 7, 39):
    pil = np.asarray(Image.open(f"{work}/aptos/{src[i]}").convert("RGB").resize((256, 256), Image.BILINEAR))
    assert np.array_equal(two["images"][i].transpose(1, 2, 0), pil), f"row {i} differs from PIL"
# Statistics: per-channel mean/std of the train split in [0, 1] units.
x = two["images"][()][two["splits/train"][()]].astype(np.float64) / 255
assert np.allclose(two["stats/mean"][()], x.mean(axis=(0, 2, 3)), atol=1e-9)
assert np.allclose(two["stats/std"][()], x.std(axis=(0, 2, 3)), atol=1e-9)
print("ok: 1 and 2 ranks agree; PIL-exact; reference split; statistics")
PY

# PCam: rows are the official files' patches (kept at 96x96), in train/valid/test order.
"$FEATREUSE" synth pcam --out "$WORK/pcam" --n 60 > /dev/null
$MPIRUN 2 "$FEATREUSE" prepare pcam --root "$WORK/pcam" --out "$WORK/pcam.h5" > /dev/null 2> "$WORK/pcam.log" ||
  { cat "$WORK/pcam.log"; fail "PCam prepare failed"; }
"$PY" - "$WORK" <<'PY' || fail "PCam checks"
import sys
import h5py, numpy as np
work = sys.argv[1]
c = h5py.File(f"{work}/pcam.h5", "r")
start = 0
for split, name in [("train", "train"), ("val", "valid"), ("test", "test")]:
    x = h5py.File(f"{work}/pcam/camelyonpatch_level_2_split_{name}_x.h5", "r")["x"][()]
    y = h5py.File(f"{work}/pcam/camelyonpatch_level_2_split_{name}_y.h5", "r")["y"][()].reshape(-1)
    rows = c[f"splits/{split}"][()]
    assert list(rows) == list(range(start, start + len(x))), split
    assert np.array_equal(c["images"][rows].transpose(0, 2, 3, 1), x), split
    assert np.array_equal(c["labels"][rows], y), split
    start += len(x)
print("ok: PCam rows equal the official files")
PY
echo "PASS prepare_mpi"
