#!/bin/bash
# The paper's initialisations end to end: a source trained in the job and one
# imported from a torch.save file; ST draws stored once per (source, seed) and
# shared by ST and WT-ST cells; every cell's initial checkpoint is what its
# scheme promises, checked with h5py against the stored source weights.
source "$(dirname "$0")/lib.sh"

# A 3-channel weight file for the tiny model, written by torch.save: the
# trained source of a first run, its 1-channel stem repeated to 3 channels.
$MPIRUN 1 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/first.h5" 2> "$WORK/first.log" || fail "first run failed"
"$PY" - "$WORK/first.h5" "$WORK/imagenet-like.pth" << 'PYEOF'
import sys, h5py, numpy as np, torch, collections
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
f = h5py.File(sys.argv[1], "r")
source = [c for c, g in f["cells"].items() if g["kind"][()] == b"source"][0]
flat = f["cells"][source]["checkpoints/best"]
sd = collections.OrderedDict()
for row in f[flat.attrs["layout"]][()]:
    shape = tuple(int(s) for s in row["shape"].decode().split(",") if s)
    t = torch.from_numpy(flat[int(row["offset"]):int(row["offset"]) + int(row["numel"])].reshape(shape).copy())
    name = row["name"].decode()
    if name == "conv1.weight":
        t = torch.cat([t, t * 0.5, t * 0.25], dim=1)  # 3 channels; channel 0 is the original
    sd[name] = t.long() if row["dtype"] == b"int64" else t
torch.save(sd, sys.argv[2])
PYEOF

cat > "$WORK/inits.yaml" << YAML
name: inits
configs: $SOURCE_DIR/tests/data/configs
overrides:
  recipe: {epochs: 1, batch_size: 32, train_size: 256, eval_batch_size: 512}
sources:
  trained: {model: tiny, dataset: fm, seed: 0}
  imported: {model: tiny, weights: imagenet-like.pth}
grid:
  model: [tiny]
  dataset: [fm]
  source: [trained, imported]
  init: [ri, st, wt, wtst]
  wt_blocks: [1]
  seed: [0, 1]
YAML
"$FEATREUSE" plan "$WORK/inits.yaml" > "$WORK/plan.txt" || fail "plan failed"
# 2 sources + 2x2 ST draws + (1 RI + 2 sources x 3 transferring inits) x 2 seeds
grep -q "^job inits: 20 tasks" "$WORK/plan.txt" || { cat "$WORK/plan.txt"; fail "unexpected task count"; }
$MPIRUN 2 "$FEATREUSE" run "$WORK/inits.yaml" --store "$WORK/i.h5" 2> "$WORK/run.log" ||
  { tail -20 "$WORK/run.log"; fail "run failed"; }
check_py counts "$WORK/i.h5" 20 0 0
check_py schema "$WORK/i.h5"

"$PY" - "$WORK/i.h5" "$WORK/imagenet-like.pth" "$SOURCE_DIR/tests/integration" << 'PYEOF'
import sys, json, h5py, numpy as np, torch
sys.path.insert(0, sys.argv[3])
from check_store import flat_values  # shared entries of an initial read from their base
f = h5py.File(sys.argv[1], "r")
def state(cid, which="best"):
    flat = f["cells"][cid]["checkpoints"][which]
    values = flat_values(f, flat)
    out = {}
    for row in f[flat.attrs["layout"]][()]:
        shape = tuple(int(s) for s in row["shape"].decode().split(",") if s)
        out[row["name"].decode()] = values[int(row["offset"]):int(row["offset"]) + int(row["numel"])].reshape(shape)
    return out
cells = {c: json.loads(g["config"][()]) for c, g in f["cells"].items()}
kinds = {c: g["kind"][()].decode() for c, g in f["cells"].items()}
# The imported source holds the file's weights (its head is not imported).
imported = [c for c, k in kinds.items() if k == "import"][0]
file_sd = torch.load(sys.argv[2])
got = state(imported)
for name, t in file_sd.items():
    if name.startswith("fc."):
        continue
    assert np.array_equal(got[name], t.float().numpy()), name
# ST draws: one per (source, seed): conv weights resampled with the source's
# statistics; BatchNorm copied (reference get_wt_state: it is reset when applied).
st_tasks = [c for c, k in kinds.items() if k == "st"]
assert len(st_tasks) == 4, st_tasks
for st in st_tasks:
    src = state(cells[st]["source"])
    draw = state(st)
    w, s = draw["layer4.0.conv2.weight"], src["layer4.0.conv2.weight"]  # 36864 draws
    assert not np.array_equal(w, s)
    assert abs(w.mean() - s.mean()) < 0.01 * s.std() * 3 and abs(w.std() / s.std() - 1) < 0.03, (w.std(), s.std())
    assert np.array_equal(draw["bn1.running_var"], src["bn1.running_var"])
# Each cell's initial checkpoint is what its scheme promises.
checked = 0
for c, cfg in cells.items():
    if kinds[c] != "cell" or cfg["init"]["scheme"] == "ri":
        continue
    init, scheme = state(c, "initial"), cfg["init"]["scheme"]
    src = state(cfg["init"]["source"])
    draw = state(cfg["init"]["st_state"]) if "st_state" in cfg["init"] else None
    if draw is not None:
        assert json.loads(f["cells"][cfg["init"]["st_state"]]["config"][()])["seed"] == cfg["seed"]
    for name, t in init.items():
        if name.startswith("fc."):
            continue
        transferred = scheme == "wt" or (scheme == "wtst" and name.split(".")[0] in ("conv1", "bn1", "layer1"))
        is_bn = ".bn" in "." + name or "downsample.1" in name
        if transferred:
            want = src[name]
        elif is_bn:  # ST blocks: BatchNorm reset
            reset = {"weight": 1, "bias": 0, "running_mean": 0, "running_var": 1, "num_batches_tracked": 0}
            want = np.full(t.shape, reset[name.rsplit(".", 1)[1]], dtype=t.dtype)
        else:
            want = draw[name]
        if want.shape != t.shape:  # a 3-channel source stem into the 1-channel model: channel 0
            want = want[:, :1]
        assert np.array_equal(t, want), (c, scheme, name)
    checked += 1
assert checked == 12, checked
print(f"ok: the imported source, {len(st_tasks)} ST draws and {checked} transferring cells hold what their schemes promise")
PYEOF
echo "PASS transfer_inits"
