#!/usr/bin/python3
"""Parity of featreuse's CNNs with torchvision (the issue-3 acceptance test).

Usage: cnn_parity.py --featreuse BIN --model {resnet18,resnet50,inception_v3} --workdir DIR
                     [--size 224] [--legacy]

Builds the torchvision model (Debian python3-torchvision) with random weights
under a fixed seed, randomises the BatchNorm affine parameters and running
statistics too (so eval-mode BN is exercised), and writes
  weights.pth           torch.save(state_dict)             (zip format; --legacy adds
  weights_legacy.pth    _use_new_zipfile_serialization=False)
  weights.safetensors   written here with numpy + json (8-byte LE header length,
                        JSON header, raw little-endian bytes), independent of
                        featreuse's writer
  input.npy             a fixed input batch (2 images)
Then, for each weight file, runs
  featreuse weights import FILE --model M --out imported.safetensors --keep-head
  featreuse features --model M --weights imported.safetensors --input input.npy
                     --probes all --out features.h5
and checks that the logits and every probe activation (reference §7.0: the
forward-hook outputs of conv1 / every block / fc) agree with torchvision in
eval mode: max|ours - torch| <= 1e-4 * max|torch| per tensor.
Exits non-zero on any failure; never skips (CI has torchvision).
"""
import argparse
import os
import subprocess
import sys

import h5py
import numpy as np
import torch
import torchvision

from safetensors_io import write_safetensors

TOLERANCE = 1e-4


def build(name):
    if name == "inception_v3":
        model = torchvision.models.inception_v3(
            weights=None, aux_logits=False, transform_input=False, init_weights=True)
        probes = [n for n, _ in model.named_children() if n.startswith(("Conv2d_", "Mixed_"))]
    else:
        model = getattr(torchvision.models, name)(weights=None)
        probes = ["conv1"] + [f"layer{k}.{i}" for k in range(1, 5)
                              for i in range(len(getattr(model, f"layer{k}")))]
    probes.append("fc")
    # Non-trivial BN: random affine parameters and running statistics.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
    return model.eval(), probes




def expected_outputs(model, probes, x):
    captured = {}
    modules = dict(model.named_modules())
    hooks = [modules[p].register_forward_hook(
        lambda _m, _i, out, p=p: captured.__setitem__(p, out.detach().clone())) for p in probes]
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    return logits.numpy(), {p: captured[p].numpy() for p in probes}


def compare(label, ours, ref):
    if ours.shape != ref.shape:
        return f"{label}: shape {ours.shape} != torchvision {ref.shape}"
    scale = float(np.abs(ref).max())
    err = float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max())
    rel = err / scale if scale > 0 else err
    print(f"  {label:<24} max abs err {err:.3e}  relative {rel:.3e}")
    return None if rel <= TOLERANCE else f"{label}: relative error {rel:.3e} > {TOLERANCE}"


def run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(res.stdout, end="")
    if res.returncode != 0:
        raise SystemExit(f"command failed with exit code {res.returncode}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--featreuse", required=True)
    ap.add_argument("--model", required=True, choices=["resnet18", "resnet50", "inception_v3"])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--legacy", action="store_true", help="also check the legacy .pth format")
    args = ap.parse_args()

    torch.manual_seed(20220601)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    work = os.path.join(args.workdir, args.model)
    os.makedirs(work, exist_ok=True)
    model, probes = build(args.model)
    x = torch.randn(2, 3, args.size, args.size)
    np.save(os.path.join(work, "input.npy"), x.numpy())
    logits, acts = expected_outputs(model, probes, x)

    sd = model.state_dict()
    files = [os.path.join(work, "weights.pth"), os.path.join(work, "weights.safetensors")]
    torch.save(sd, files[0])
    write_safetensors(files[1], sd)
    if args.legacy:
        files.append(os.path.join(work, "weights_legacy.pth"))
        torch.save(sd, files[2], _use_new_zipfile_serialization=False)

    failures = []
    for weights in files:
        tag = os.path.basename(weights).replace(".", "_")
        imported = os.path.join(work, f"imported_{tag}.safetensors")
        h5 = os.path.join(work, f"features_{tag}.h5")
        run([args.featreuse, "weights", "import", weights, "--model", args.model,
             "--out", imported, "--keep-head"])
        run([args.featreuse, "features", "--model", args.model, "--weights", imported,
             "--input", os.path.join(work, "input.npy"), "--probes", "all", "--out", h5])
        print(f"{args.model} from {os.path.basename(weights)}:")
        with h5py.File(h5, "r") as f:
            stored = sorted(f["probes"].keys())
            if stored != sorted(probes):
                failures.append(f"{tag}: probes {stored} != expected {sorted(probes)}")
            failures.append(compare("logits", f["logits"][()], logits))
            for p in probes:
                if p in f["probes"]:
                    failures.append(compare(p, f["probes"][p][()], acts[p]))
    failures = [f for f in failures if f]
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"{args.model}: logits and {len(probes)} probes agree within {TOLERANCE} "
          f"relative for {len(files)} weight files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
