#!/bin/bash
# `run` into a damaged store (docs/reliability.md, "Fuzzing"): the writer reads
# a store with the reader's functions before it writes, so the damaged copies
# kept by the store-reader fuzzer (tests/fuzz/corpus/store) and a few damages
# made here with h5py are given to `run`, with the job that wrote the seed
# store. Every run must end in a message naming the store or its object, with
# exit code 1 or 2: no signal, no internal error (exit 3), no hang. Damage the
# writer repairs (a missing results table, a checkpoint of a task not done yet
# with another shape) must instead let the run finish the study. After every
# run the file still opens in h5py.
source "$(dirname "$0")/lib.sh"
CORPUS=$SOURCE_DIR/tests/fuzz/corpus/store
SEED=$CORPUS/seed_source_cell_l2.h5

# The job that wrote the seed (its text is in the store), with its configs:
# the test configs and the micro ResNet it trained.
cp -r "$SOURCE_DIR/tests/data/configs" "$WORK/configs"
cat > "$WORK/configs/models/micro.yaml" << 'EOF'
arch: resnet
options: {layers: [1], widths: [2]}
gflops: 0.0001
image_size: 28
EOF
"$PY" - "$SEED" "$WORK/job.yaml" "$WORK/configs" << 'PYEOF' || fail "cannot read the seed's job"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    text = f["jobs/000000"][()].decode()
lines = ["configs: " + sys.argv[3] if l.startswith("configs:") else l for l in text.splitlines()]
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PYEOF

run_into() { # STORE LOG: the job into STORE (a minute at most); prints the exit code
  local rc=0
  timeout 120 $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$1" > /dev/null 2> "$2" || rc=$?
  echo $rc
}
opens() { # STORE: h5py opens it and reads every record that is a dataset
  "$PY" - "$1" << 'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for g in (f["cells"].values() if isinstance(f.get("cells"), h5py.Group) else []):
        if isinstance(g, h5py.Group) and isinstance(g.get("record"), h5py.Dataset):
            g["record"][()]
PYEOF
}

# The seed itself: the job is the one that wrote it, with nothing left to do.
cp "$SEED" "$WORK/seed.h5"
rc=$(run_into "$WORK/seed.h5" "$WORK/seed.log")
[ "$rc" = 0 ] || { tail -20 "$WORK/seed.log"; fail "the seed store: exit $rc"; }
grep -q "3 tasks: 3 done before" "$WORK/seed.log" || { tail -20 "$WORK/seed.log"; fail "the job did not write the seed"; }

# Damage made here, on copies of the seed: NAME and a Python statement on `f`
# (the file open for writing), `cell` (the WT cell), `src` (its source).
declare -A damages=(
  [jobs_a_dataset]='del f["jobs"]; f["jobs"] = 1'
  [cells_a_dataset]='del f["cells"]; f["cells"] = 1'
  [record_missing]='del f["cells"][cell]["record"]'
  [record_two_rows]='r = f["cells"][cell]["record"][()]; del f["cells"][cell]["record"]; f["cells"][cell]["record"] = np.array([r, r])'
  [kind_unknown]='del f["cells"][cell]["kind"]; f["cells"][cell]["kind"] = np.bytes_("teleport")'
  [string_of_another_type]='del f["cells"][cell]["key"]; f["cells"][cell]["key"] = "a variable-length string"'
  [format_missing]='del f.attrs["format"]'
  [truncated]='pass  # cut to half its bytes below'
)
# Damage the writer repairs: the run must finish the study.
declare -A repaired=(
  [results_missing]='del f["results"]'
  [layout_missing]='del f[f["cells"][src]["checkpoints/best"].attrs["layout"]]'
  [pending_best_reshaped]='pending(cell); del f["cells"][cell]["checkpoints/best"]; f["cells"][cell]["checkpoints/best"] = np.zeros((2, 3), "f4")'
)
damage() { # NAME STATEMENT: a damaged copy of the seed at $WORK/NAME.h5
  cp "$SEED" "$WORK/$1.h5"
  "$PY" - "$WORK/$1.h5" "$2" << 'PYEOF' || fail "cannot damage a copy as $1"
import json, sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    kinds = {c: f["cells"][c]["kind"][()].decode() for c in f["cells"]}
    cell = [c for c, k in kinds.items() if k == "cell"][0]
    src = [c for c, k in kinds.items() if k == "source"][0]
    def pending(c):  # the task not done: the next run trains it again
        r = f["cells"][c]["record"][()]
        r["status"] = b"pending"
        f["cells"][c]["record"][()] = r
    exec(sys.argv[2])
PYEOF
  [ "$1" != truncated ] || truncate -s $(($(stat -c %s "$WORK/$1.h5") / 2)) "$WORK/$1.h5"
}

outcome() { # NAME LOG RC: the exit code, then the error (or the last line) of the log
  local said
  said=$(grep -o "error: .*" "$2" | head -1 || true)
  echo "  $1: exit $3: $(echo "${said:-$(grep -v '^\s*$' "$2" | tail -1)}" | sed "s|$WORK|\$WORK|g" | cut -c1-240)"
}
refused=0
damaged_inputs=()
for input in "$CORPUS"/found_*.h5; do
  name=$(basename "$input" .h5)
  cp "$input" "$WORK/$name.h5"
  damaged_inputs+=("$name")
done
for name in "${!damages[@]}"; do
  damage "$name" "${damages[$name]}"
  damaged_inputs+=("$name")
done
problems=()
problem() { problems+=("$1: $2"); tail -5 "$WORK/$1.log" | sed 's/^/    /'; }
for name in "${damaged_inputs[@]}"; do
  cp "$WORK/$name.h5" "$WORK/$name.before"
  rc=$(run_into "$WORK/$name.h5" "$WORK/$name.log")
  outcome "$name" "$WORK/$name.log" "$rc"
  case $rc in
    1 | 2) ;;
    124) problem "$name" "the run hung (killed after 120 s)" ;;
    *) problem "$name" "exit $rc (expected 1 or 2: a message, no crash)" ;;
  esac
  ! grep -qE "(terminate called|Segmentation|Aborted|internal error)" "$WORK/$name.log" ||
    problem "$name" "a crash or an internal error"
  grep -qE "$WORK/$name.h5|store: /" "$WORK/$name.log" ||
    problem "$name" "the message names neither the store nor its object"
  # The bytes the file had are unchanged. (HDF5 may have written data past the
  # end before the error; the superblock, unchanged, does not reach them.)
  cmp -s -n "$(stat -c %s "$WORK/$name.before")" "$WORK/$name.before" "$WORK/$name.h5" ||
    problem "$name" "the refused run changed the file's bytes"
  [ "$(stat -c %s "$WORK/$name.h5")" = "$(stat -c %s "$WORK/$name.before")" ] ||
    echo "    ($(($(stat -c %s "$WORK/$name.h5") - $(stat -c %s "$WORK/$name.before"))) bytes written past the end)"
  refused=$((refused + 1))
done
for name in "${!repaired[@]}"; do
  damage "$name" "${repaired[$name]}"
  rc=$(run_into "$WORK/$name.h5" "$WORK/$name.log")
  outcome "$name" "$WORK/$name.log" "$rc"
  if [ "$rc" != 0 ]; then
    problem "$name" "exit $rc (the writer should repair this)"
  elif ! check_py counts "$WORK/$name.h5" 3 0 0 > /dev/null || ! check_py schema "$WORK/$name.h5" > /dev/null ||
    ! opens "$WORK/$name.h5"; then
    problem "$name" "the repaired store is not whole"
  fi
done
[ ${#problems[@]} = 0 ] || fail "$(printf '\n  %s' "${problems[@]}")"
echo "PASS damaged_store ($refused damaged stores refused with a message, ${#repaired[@]} repaired by the run)"
