#!/bin/bash
# `featreuse features --data` on a trained cell's weights reproduces the
# test logits the run stored for that cell (same weights, same images, eval
# mode), and writes the probe activations and labels.
source "$(dirname "$0")/lib.sh"

$MPIRUN 1 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/s.h5" 2> "$WORK/run.log" || fail "run failed"
# A done cell's best checkpoint as a torch.save file, and its dataset config.
"$PY" - "$WORK/s.h5" "$WORK" << 'PYEOF'
import sys, json, collections, h5py, torch
f = h5py.File(sys.argv[1], "r")
cid = sorted(c for c, g in f["cells"].items() if g["kind"][()] == b"cell")[0]
config = json.loads(f["cells"][cid]["config"][()])
flat = f["cells"][cid]["checkpoints/best"]
sd = collections.OrderedDict()
for row in f[flat.attrs["layout"]][()]:
    shape = tuple(int(s) for s in row["shape"].decode().split(",") if s)
    t = torch.from_numpy(flat[int(row["offset"]):int(row["offset"]) + int(row["numel"])].reshape(shape).copy())
    sd[row["name"].decode()] = t.long() if row["dtype"] == b"int64" else t
torch.save(sd, sys.argv[2] + "/cell.pth")
json.dump(config["dataset"], open(sys.argv[2] + "/dataset.yaml", "w"))  # JSON is YAML
open(sys.argv[2] + "/cell_id", "w").write(cid)
PYEOF
"$FEATREUSE" features --model tiny --configs "$SOURCE_DIR/tests/data/configs" --weights "$WORK/cell.pth" \
  --data "$WORK/dataset.yaml" --split test --probes all --pool patches --out "$WORK/f.h5" --batch-size 100 ||
  fail "features failed"
"$PY" - "$WORK/s.h5" "$WORK/f.h5" "$(cat "$WORK/cell_id")" << 'PYEOF'
import sys, h5py, numpy as np
store, feats, cid = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), sys.argv[3]
want, got = store["cells"][cid]["test/logits"][()], feats["logits"][()]
assert got.shape == want.shape, (got.shape, want.shape)
err = np.abs(got - want).max() / np.abs(want).max()
assert err < 1e-5, err
assert np.array_equal(feats["labels"][()].astype(np.int64), store["cells"][cid]["test/labels"][()])
names = [n.decode() for n in feats["probe_names"][()]]
assert "layer4.0" in names and all(feats["probes"][n].shape[0] == want.shape[0] for n in names)
print(f"ok: features reproduce the stored test logits of {cid} (max relative error {err:.1e}), {len(names)} probes")
PYEOF
echo "PASS features_from_store"
