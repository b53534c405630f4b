#!/bin/bash
# A trained cell used without Python: `weights export` writes its checkpoints
# as .pth (torch.save format) and .safetensors, which torchvision's own ResNet
# (its Bottleneck blocks at the tiny config's widths) loads strictly and runs to the same
# logits as featreuse; `features --store --cell` on the cell's own test split
# reproduces the test logits the run stored (same weights, same images, eval
# mode), and writes the probe activations and labels.
source "$(dirname "$0")/lib.sh"

$MPIRUN 1 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/s.h5" 2> "$WORK/run.log" || fail "run failed"
cid=$("$PY" -c "import sys, h5py; f = h5py.File(sys.argv[1], 'r')
print(sorted(c for c, g in f['cells'].items() if g['kind'][()] == b'cell')[0])" "$WORK/s.h5")

for out in cell.pth cell.safetensors; do
  "$FEATREUSE" weights export "$WORK/s.h5" --cell "$cid" --out "$WORK/$out" || fail "weights export $out failed"
done
"$FEATREUSE" weights export "$WORK/s.h5" --cell "$cid" --which initial --out "$WORK/initial.safetensors" ||
  fail "weights export --which initial failed"
if "$FEATREUSE" weights export "$WORK/s.h5" --cell nosuch --out "$WORK/x.pth" 2> "$WORK/err.txt"; then
  fail "an unknown task was exported"
fi
grep -q "has no task 'nosuch'" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "no message for an unknown task"; }

"$FEATREUSE" features --store "$WORK/s.h5" --cell "$cid" --split test --probes all --pool patches \
  --out "$WORK/f.h5" --batch-size 100 --device cpu || fail "features --store failed"
"$PY" - "$WORK/s.h5" "$WORK/f.h5" "$cid" << 'PYEOF'
import sys, h5py, numpy as np
store, feats, cid = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), sys.argv[3]
want, got = store["cells"][cid]["test/logits"][()], feats["logits"][()]
assert got.shape == want.shape, (got.shape, want.shape)
err = np.abs(got - want).max() / np.abs(want).max()
assert err < 1e-5, err
assert np.array_equal(feats["labels"][()].astype(np.int64), store["cells"][cid]["test/labels"][()])
names = [n.decode() for n in feats["probe_names"][()]]
assert "layer4.0" in names and all(feats["probes"][n].shape[0] == want.shape[0] for n in names)
assert feats.attrs["device"] in ("cpu", b"cpu"), feats.attrs["device"]
print(f"ok: features --store reproduce the stored test logits of {cid} (max relative error {err:.1e}), {len(names)} probes")
PYEOF

# torchvision loads both exports strictly and computes what featreuse computes.
"$PY" - "$WORK" "$SOURCE_DIR/tests/oracles" << 'PYEOF'
import sys, numpy as np, torch, torchvision
from torch import nn
from torchvision.models.resnet import ResNet, Bottleneck
work = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from safetensors_io import read_safetensors

def tiny_resnet():  # tests/data/configs/models/tiny.yaml: bottlenecks of widths 8-64, one per stage, 1 channel, 3 classes
    net = ResNet(Bottleneck, [1, 1, 1, 1], num_classes=3)
    net.inplanes = 8
    net.conv1 = nn.Conv2d(1, 8, kernel_size=7, stride=2, padding=3, bias=False)
    net.bn1 = nn.BatchNorm2d(8)
    net.layer1 = net._make_layer(Bottleneck, 8, 1)
    net.layer2 = net._make_layer(Bottleneck, 16, 1, stride=2)
    net.layer3 = net._make_layer(Bottleneck, 32, 1, stride=2)
    net.layer4 = net._make_layer(Bottleneck, 64, 1, stride=2)
    net.fc = nn.Linear(64 * Bottleneck.expansion, 3)
    return net.eval()

pth = torch.load(f"{work}/cell.pth")
st = read_safetensors(f"{work}/cell.safetensors")
assert pth.keys() == st.keys(), set(pth) ^ set(st)
for k in pth:
    assert pth[k].dtype == st[k].dtype and torch.equal(pth[k], st[k]), k
x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
np.save(f"{work}/x.npy", x.numpy())
outputs = []
for sd in (pth, st):
    net = tiny_resnet()
    net.load_state_dict(sd, strict=True)
    with torch.no_grad():
        outputs.append(net(x).numpy())
assert np.array_equal(outputs[0], outputs[1])
np.save(f"{work}/torchvision_logits.npy", outputs[0])
print(f"ok: torchvision {torchvision.__version__} loads both exports strictly ({len(pth)} tensors)")
PYEOF
"$FEATREUSE" features --model tiny --configs "$SOURCE_DIR/tests/data/configs" --weights "$WORK/cell.pth" \
  --input "$WORK/x.npy" --out "$WORK/fx.h5" || fail "features on the exported .pth failed"
"$PY" - "$WORK" "$cid" << 'PYEOF'
import sys, h5py, numpy as np
work, cid = sys.argv[1], sys.argv[2]
want = np.load(f"{work}/torchvision_logits.npy")
got = h5py.File(f"{work}/fx.h5", "r")["logits"][()]
err = np.abs(got - want).max() / np.abs(want).max()
assert err < 1e-5, err
print(f"ok: torchvision and featreuse agree on the exported weights (max relative error {err:.1e})")
PYEOF
"$PY" - "$WORK/s.h5" "$WORK/initial.safetensors" "$cid" "$SOURCE_DIR/tests/oracles" "$SOURCE_DIR/tests/integration" << 'PYEOF'
import sys, h5py, numpy as np
sys.path[:0] = sys.argv[4:6]
from safetensors_io import read_safetensors
from check_store import flat_values  # shared entries of an initial read from their base
f = h5py.File(sys.argv[1], "r")
flat = f["cells"][sys.argv[3]]["checkpoints/initial"]
values = flat_values(f, flat)
tensors = read_safetensors(sys.argv[2])
for row in f[flat.attrs["layout"]][()]:
    want = values[int(row["offset"]):int(row["offset"]) + int(row["numel"])]
    assert np.array_equal(tensors[row["name"].decode()].numpy().astype(np.float32).ravel(), want), row["name"]
print("ok: --which initial exports the stored initial checkpoint")
PYEOF
echo "PASS features_from_store"
