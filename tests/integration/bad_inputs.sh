#!/bin/bash
# The catalogue of bad inputs (issue 11, docs/reliability.md): each is refused
# with a message naming the file, key or value and exit code 2 (a user error),
# or, inside a run, fails only its own cell with such a message; a store given
# to a refused run is left byte for byte as it was, and a store a run accepted
# keeps its done cells bit for bit.
source "$(dirname "$0")/lib.sh"

# expect NAME CODE FRAGMENT COMMAND...: COMMAND exits CODE and its stderr holds FRAGMENT.
expect() {
  local name=$1 code=$2 fragment=$3 rc=0
  shift 3
  "$@" > "$WORK/out.txt" 2> "$WORK/err.txt" < /dev/null || rc=$?
  [ "$rc" = "$code" ] || { tail -5 "$WORK/err.txt"; fail "$name: exit code $rc, not $code"; }
  grep -qF -- "$fragment" "$WORK/err.txt" || { tail -5 "$WORK/err.txt"; fail "$name: the message lacks '$fragment'"; }
  echo "ok $name: exit $rc: $(grep -F -- "$fragment" "$WORK/err.txt" | head -1 | cut -c1-240)"
}
digest() { sha256sum "$1" | cut -d' ' -f1; }

CONFIGS=$WORK/configs
mkdir -p "$CONFIGS/datasets" "$CONFIGS/models" "$CONFIGS/recipes"
cp "$SOURCE_DIR"/tests/data/configs/models/*.yaml "$CONFIGS/models/"
cp "$SOURCE_DIR/tests/data/configs/recipes/default.yaml" "$CONFIGS/recipes/"
cp "$SOURCE_DIR/tests/data/configs/datasets/fm.yaml" "$CONFIGS/datasets/"

# --- Job files -------------------------------------------------------------
printf 'configs: %s\ngrid: {model: [tiny], dataset: [fm]\nseed: [0]\n' "$CONFIGS" > "$WORK/malformed.yaml"
expect "malformed YAML (plan)" 2 "malformed.yaml: YAML syntax error at line 3" "$FEATREUSE" plan "$WORK/malformed.yaml"
expect "malformed YAML (run)" 2 "malformed.yaml: YAML syntax error at line 3" $MPIRUN 2 "$FEATREUSE" run "$WORK/malformed.yaml" --store "$WORK/m.h5"
[ ! -e "$WORK/m.h5" ] || fail "a store was created for a malformed job"

# --- Dataset roots and their files (prepare) -------------------------------
"$FEATREUSE" synth aptos2019 --out "$WORK/aptos" --n 40 > /dev/null
"$FEATREUSE" synth isic2019 --out "$WORK/isic" --n 40 > /dev/null
prep() { $MPIRUN 2 "$FEATREUSE" prepare "$1" --root "$2" --out "$3" --size 32; }
expect "missing dataset root" 2 "root '$WORK/nowhere' is not a folder" prep aptos2019 "$WORK/nowhere" "$WORK/c.h5"
expect "dataset root of another layout" 2 "label table '$WORK/isic/train.csv' not found" \
  prep aptos2019 "$WORK/isic" "$WORK/c.h5"
cp -r "$WORK/aptos" "$WORK/nocol" && sed -i '1s/diagnosis/grade/' "$WORK/nocol/train.csv"
expect "CSV missing a column" 2 "'$WORK/nocol/train.csv' has no column 'diagnosis'" prep aptos2019 "$WORK/nocol" "$WORK/c.h5"
cp -r "$WORK/aptos" "$WORK/badlabel" && sed -i '3s/,[0-9]*$/,7/' "$WORK/badlabel/train.csv"
expect "CSV with an unknown label" 2 "'$WORK/badlabel/train.csv' line 3: diagnosis '7' is not a grade 0-4" \
  prep aptos2019 "$WORK/badlabel" "$WORK/c.h5"
[ ! -e "$WORK/c.h5" ] || fail "a cache was created for a dataset that was refused"

# A truncated image is skipped with its name and the reason; the others are kept.
cp -r "$WORK/aptos" "$WORK/trpng"
png=$(ls "$WORK/trpng/train_images" | sort | head -1)
truncate -s 200 "$WORK/trpng/train_images/$png"
expect "truncated PNG" 0 "skipped train_images/$png: '$WORK/trpng/train_images/$png': PNG error: file is truncated" \
  prep aptos2019 "$WORK/trpng" "$WORK/trpng.h5"
grep -q "items        40 (39 ok, 1 skipped)" "$WORK/out.txt" || fail "truncated PNG: $(grep items "$WORK/out.txt")"
cp -r "$WORK/isic" "$WORK/trjpg"
jpg=$(ls "$WORK/trjpg/ISIC_2019_Training_Input" | sort | head -1)
truncate -s 300 "$WORK/trjpg/ISIC_2019_Training_Input/$jpg"
expect "truncated JPEG" 0 "skipped ISIC_2019_Training_Input/$jpg: '$WORK/trjpg/ISIC_2019_Training_Input/$jpg': JPEG error" \
  prep isic2019 "$WORK/trjpg" "$WORK/trjpg.h5"
# Only the truncated one: a failed JPEG once cost the next JPEG of its thread.
grep -q "items        40 (39 ok, 1 skipped)" "$WORK/out.txt" || fail "truncated JPEG: $(grep items "$WORK/out.txt")"

# Images of a mode or size the layout does not expect: 16-bit grey, RGBA,
# palette, 1x1 pixel; decoded as PIL converts them (to RGB), resized to the cache's side.
cp -r "$WORK/aptos" "$WORK/modes"
"$PY" - "$WORK/modes/train_images" << 'PYEOF'
import os, sys
import numpy as np
from PIL import Image
names = sorted(os.listdir(sys.argv[1]))[:4]
images = [Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)),
          Image.new("RGBA", (40, 30), (10, 200, 30, 128)), Image.new("P", (33, 17), 3), Image.new("RGB", (1, 1))]
for name, im in zip(names, images):
    im.save(os.path.join(sys.argv[1], name))
PYEOF
expect "images of unexpected modes and sizes" 0 "prepared" prep aptos2019 "$WORK/modes" "$WORK/modes.h5"
grep -q "items        40 (40 ok, 0 skipped)" "$WORK/out.txt" || fail "modes: $(grep items "$WORK/out.txt")"

# --- Weight files ----------------------------------------------------------
$MPIRUN 1 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/s.h5" > /dev/null 2> "$WORK/run.log" ||
  { tail -20 "$WORK/run.log"; fail "the tiny job failed"; }
cell=$("$FEATREUSE" status "$WORK/s.h5" --json | "$PY" -c "
import json, sys
print(next(t['id'] for t in json.load(sys.stdin)['tasks'] if t['kind'] == 'source'))")
"$FEATREUSE" weights export "$WORK/s.h5" --cell "$cell" --out "$WORK/tiny.safetensors" > /dev/null
"$FEATREUSE" weights export "$WORK/s.h5" --cell "$cell" --out "$WORK/tiny.pth" > /dev/null
import_as() { "$FEATREUSE" weights import "$1" --model "$2" --out "$WORK/w.safetensors" --configs "$CONFIGS" --in-channels 1; }
expect "weights of the right architecture" 0 "" import_as "$WORK/tiny.safetensors" tiny
expect "weights of another architecture" 2 "tiny.safetensors: weights do not fit the model (none of its tensors is in the file: another architecture?)" \
  import_as "$WORK/tiny.safetensors" tiny_vit
expect "weights of another width" 2 "tiny.pth: weights do not fit the model" import_as "$WORK/tiny.pth" other
size=$(stat -c %s "$WORK/tiny.safetensors")
head -c $((size / 2)) "$WORK/tiny.safetensors" > "$WORK/half.safetensors"
expect "truncated safetensors" 2 "half.safetensors" "$FEATREUSE" weights list "$WORK/half.safetensors"
"$PY" - "$WORK/tiny.safetensors" "$WORK/lying.safetensors" << 'PYEOF'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
name = next(k for k in header if k != "__metadata__")
header[name]["data_offsets"][1] += 10 ** 9  # claims a gigabyte the file does not have
text = json.dumps(header).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
PYEOF
expect "lying safetensors" 2 "lying.safetensors" "$FEATREUSE" weights list "$WORK/lying.safetensors"
size=$(stat -c %s "$WORK/tiny.pth")
head -c $((size * 2 / 3)) "$WORK/tiny.pth" > "$WORK/cut.pth"
expect "truncated .pth" 2 "cut.pth" "$FEATREUSE" weights list "$WORK/cut.pth"
expect "not a weight file" 2 "malformed.yaml" "$FEATREUSE" weights list "$WORK/malformed.yaml"

# A job importing a bad weight file: that source fails with the file's name,
# its dependants are not run, the job ends.
cat > "$WORK/import.yaml" << EOF
name: import
configs: $CONFIGS
overrides:
  recipe: {epochs: 1, batch_size: 32, train_size: 128, eval_batch_size: 512}
sources:
  bad: {model: tiny, weights: $WORK/cut.pth}
  alien: {model: tiny, weights: $WORK/tiny_vit.safetensors}
grid: {model: [tiny], dataset: [fm], init: [wt], source: [bad, alien]}
EOF
"$FEATREUSE" weights import "$WORK/tiny.safetensors" --model tiny --out "$WORK/tiny_ok.safetensors" --configs "$CONFIGS" --in-channels 1 > /dev/null
"$PY" - "$WORK/tiny_ok.safetensors" "$WORK/tiny_vit.safetensors" << 'PYEOF'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
renamed = {("blocks." + k if k != "__metadata__" else k): v for k, v in header.items()}
text = json.dumps(renamed).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
PYEOF
expect "a job importing bad weight files" 0 "2 failed" $MPIRUN 2 "$FEATREUSE" run "$WORK/import.yaml" --store "$WORK/i.h5"
check_py message "$WORK/i.h5" "cut.pth" 1
check_py message "$WORK/i.h5" "tiny_vit.safetensors: weights do not fit the model" 1
check_py counts "$WORK/i.h5" 0 4 0

# --- Stores ----------------------------------------------------------------
check_py snapshot "$WORK/s.h5" "$WORK/snap.json" > /dev/null
run_into() { $MPIRUN 2 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$1"; }
echo "not a store" > "$WORK/text.h5"
before=$(digest "$WORK/text.h5")
expect "a store that is not HDF5" 2 "cannot open '$WORK/text.h5': file signature not found" run_into "$WORK/text.h5"
[ "$(digest "$WORK/text.h5")" = "$before" ] || fail "the file given as a store was changed"
"$PY" -c "import h5py, sys; h5py.File(sys.argv[1], 'w')['x'] = 1" "$WORK/plain.h5"
before=$(digest "$WORK/plain.h5")
expect "an HDF5 file that is not a store" 2 "'$WORK/plain.h5' is an HDF5 file but not a featreuse store" run_into "$WORK/plain.h5"
[ "$(digest "$WORK/plain.h5")" = "$before" ] || fail "the HDF5 file given as a store was changed"
cp "$WORK/s.h5" "$WORK/v99.h5"
"$PY" -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['schema_version'] = 99" "$WORK/v99.h5"
before=$(digest "$WORK/v99.h5")
expect "a store of another schema version" 2 "store '$WORK/v99.h5' has schema version 99; this featreuse reads 1" \
  run_into "$WORK/v99.h5"
[ "$(digest "$WORK/v99.h5")" = "$before" ] || fail "the store of another version was changed"
# The commands that read a store say the same, exit 2.
expect "status of a missing store" 2 "no such file '$WORK/nowhere.h5'" "$FEATREUSE" status "$WORK/nowhere.h5"
expect "report of a file that is not HDF5" 2 "cannot open '$WORK/text.h5': file signature not found" \
  "$FEATREUSE" report "$WORK/text.h5"
expect "plan --store of another schema version" 2 "store '$WORK/v99.h5' has schema version 99" \
  "$FEATREUSE" plan "$JOBS/tiny.yaml" --store "$WORK/v99.h5"
expect "weights export from an HDF5 file that is not a store" 2 "'$WORK/plain.h5' is an HDF5 file but not a featreuse store" \
  "$FEATREUSE" weights export "$WORK/plain.h5" --cell "$cell" --out "$WORK/x.pth"
mkdir "$WORK/dir.h5"
expect "a folder given as store" 2 "the store '$WORK/dir.h5' cannot be written: Is a directory" run_into "$WORK/dir.h5"
# Read-only: root ignores permission bits; an immutable file refuses root too.
cp "$WORK/s.h5" "$WORK/ro.h5"
before=$(digest "$WORK/ro.h5")
if chattr +i "$WORK/ro.h5" 2> /dev/null; then
  rc=0
  run_into "$WORK/ro.h5" > /dev/null 2> "$WORK/err.txt" || rc=$?
  chattr -i "$WORK/ro.h5"
  [ "$rc" = 2 ] || { tail -5 "$WORK/err.txt"; fail "read-only store: exit code $rc, not 2"; }
  grep -qF "the store '$WORK/ro.h5' cannot be written: Operation not permitted" "$WORK/err.txt" ||
    { tail -5 "$WORK/err.txt"; fail "read-only store: unclear message"; }
  echo "ok a read-only (immutable) store: exit 2"
else
  chmod 444 "$WORK/ro.h5"
  if [ "$(id -u)" != 0 ]; then
    expect "a read-only store" 2 "the store '$WORK/ro.h5' cannot be written: Permission denied" run_into "$WORK/ro.h5"
  else
    echo "skipped a read-only store: running as root where chattr is not allowed"
  fi
fi
[ "$(digest "$WORK/ro.h5")" = "$before" ] || fail "the read-only store was changed"

# A job that changes cells the store holds: refused, naming the change, the store unchanged.
sed -e 's/train_size: 256/train_size: 200/' -e "s|^configs: .*|configs: $SOURCE_DIR/tests/data/configs|" \
  "$JOBS/tiny.yaml" > "$WORK/changed.yaml"
before=$(digest "$WORK/s.h5")
expect "a job that changes stored cells' configs" 2 "recipe.train_size: 256 -> 200" \
  $MPIRUN 2 "$FEATREUSE" run "$WORK/changed.yaml" --store "$WORK/s.h5"
[ "$(digest "$WORK/s.h5")" = "$before" ] || fail "the store was changed by a refused job"

# A store written by another job: accepted (a store holds several jobs), its
# done cells unchanged; this job's cells run, one diverging (NaN loss) and two
# whose validation split lacks positives or negatives of a label.
"$FEATREUSE" synth csv --out "$WORK/ml" --n 60 > /dev/null
"$PY" - "$WORK/ml/labels.csv" << 'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for i, r in enumerate(rows):  # 40 train, 10 val, 10 test; has_square never positive in val
    r["split"] = "train" if i < 40 else "val" if i < 50 else "test"
    if r["split"] == "val":
        r["has_square"] = "0"
with open(sys.argv[1], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
# The same with has_red positive in every val row.
for r in rows:
    if r["split"] == "val":
        r["has_red"] = "1"
with open(sys.argv[1].replace(".csv", "_allpos.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
PYEOF
for variant in nopos allpos; do
  table=labels.csv
  [ $variant = allpos ] && table=labels_allpos.csv
  cat > "$CONFIGS/datasets/ml_$variant.yaml" << EOF
reader: csv
root: $WORK/ml
cache: $WORK/ml_$variant.h5
csv: $table
path_column: path
label_columns: [has_red, has_square]
split_column: split
channels: 3
size: 32
image_size: 28
resize: 32
target_metric: roc_auc
EOF
  $MPIRUN 2 "$FEATREUSE" prepare "$CONFIGS/datasets/ml_$variant.yaml" > /dev/null 2> "$WORK/prep.log" ||
    { tail -5 "$WORK/prep.log"; fail "prepare ml_$variant"; }
done
cat > "$WORK/other.yaml" << EOF
name: other
configs: $CONFIGS
overrides:
  recipe: {epochs: 1, batch_size: 16, train_size: 32, eval_batch_size: 512}
grid: {model: [tiny], dataset: [fm, ml_nopos, ml_allpos], lr: [0.001, 1.0e+30]}
exclude:
  - {dataset: [ml_nopos, ml_allpos], lr: 1.0e+30}
EOF
$MPIRUN 2 "$FEATREUSE" run "$WORK/other.yaml" --store "$WORK/s.h5" > "$WORK/out.txt" 2> "$WORK/run.log" ||
  { tail -20 "$WORK/run.log"; fail "a second job into the store failed"; }
echo "ok a store written by another job: exit 0: $(tail -2 "$WORK/out.txt" | head -1)"
check_py unchanged "$WORK/s.h5" "$WORK/snap.json"
"$FEATREUSE" status "$WORK/s.h5" > "$WORK/status.txt"
check_py message "$WORK/s.h5" "with learning rate 1e+30 (recipe lr 1e+30)" 1 ||
  { cat "$WORK/status.txt"; fail "NaN loss"; }
check_py message "$WORK/s.h5" "class 0 is positive in all 10 samples; ROC AUC is undefined without negatives" 1 ||
  { cat "$WORK/status.txt"; fail "a validation split without negatives"; }
"$PY" - "$WORK/s.h5" << 'PYEOF' || fail "the validation split without positives"
import sys, h5py, numpy as np, pandas as pd
df = pd.DataFrame(h5py.File(sys.argv[1], "r")["results"][()])
row = df[df.key.str.decode("utf-8").str.contains("dataset=ml_nopos")]
assert len(row) == 1 and row.status.iloc[0] == b"done", row[["key", "status", "message"]]
print(f"ok a validation split where a label has no positives: done, roc_auc {row.target.iloc[0]:.3f}")
assert np.isfinite(row.target.iloc[0])
PYEOF
echo "PASS bad_inputs"
