#!/usr/bin/python3
"""FID parity of featreuse with pytorch-fid (issue 8's FID acceptance test).

Usage: fid_parity.py --featreuse BIN --workdir DIR [--pytorch-fid PATH]

pytorch-fid (PyPI, not packaged by Debian) is imported from PATH (the folder
scripts/install-deps.sh installs it into); the test fails, never skips, when
it is missing.

1. Builds pytorch-fid's own FID Inception (fid_inception_v3: torchvision's
   Inception3 with FIDInceptionA/C/E_1/E_2 patched in) with random weights
   instead of the downloaded ones, BatchNorm running statistics set from one
   training-mode pass so activations stay in a sane range, and saves them
   with torch.save.
2. Writes two small image sets as PNG folders (one RGB, one grayscale, odd
   sizes so the resize to 299 matters) and the same pixels as .npy in [0, 1].
3. pytorch-fid's --save-stats path (save_fid_stats: PIL -> ToTensor ->
   InceptionV3 with resize and [-1, 1] scaling -> pool3 -> mean, np.cov)
   against `featreuse fid --save-stats X.npy OUT.npz`: mu and sigma agree to
   1e-4 of their largest magnitude. Then `featreuse fid` on featreuse's and
   pytorch-fid's .npz of the same set gives ~0, and on the two sets agrees
   with pytorch-fid's calculate_fid_given_paths.
4. A dataset as featreuse reads it (the tests' Fashion-MNIST config: classes
   0-2, normalised with its mean and std): `fid --save-stats fm.yaml --split
   test --max-images 6` against pytorch-fid on PNGs of the first 6 test
   images of those classes, read here from Debian's idx files.
5. Random full-rank statistics written by numpy: `featreuse fid A.npz B.npz`
   against pytorch-fid's calculate_frechet_distance (scipy's sqrtm) to 1e-6.
"""
import argparse
import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

TOLERANCE = 1e-4


def load_pytorch_fid(path):
    if path:
        sys.path.insert(0, path)
    try:
        from pytorch_fid import fid_score, inception
    except ImportError as e:
        sys.exit(f"FAIL: pytorch-fid is not importable ({e}); scripts/install-deps.sh installs it into "
                 "/opt/featreuse/python")
    return fid_score, inception


def random_fid_inception(inception, images):
    """pytorch-fid's fid_inception_v3() with random weights: its download is
    replaced by the network's own random initialisation."""
    original = torchvision.models.inception.Inception3.load_state_dict
    inception.load_state_dict_from_url = lambda *args, **kwargs: None
    torchvision.models.inception.Inception3.load_state_dict = lambda self, state, strict=True: None
    try:
        torch.manual_seed(0)
        net = inception.fid_inception_v3()
    finally:
        torchvision.models.inception.Inception3.load_state_dict = original
    # Running statistics from one pass in training mode (cumulative average).
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    net.train()
    with torch.no_grad():
        x = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        net(2 * x - 1)
    return net.eval()


def write_sets(workdir):
    rng = np.random.RandomState(0)
    sets = {}
    for name, channels, height, width in (("rgb", 3, 70, 90), ("gray", 1, 64, 64)):
        pixels = rng.randint(0, 256, size=(6, height, width, channels), dtype=np.uint8)
        folder = os.path.join(workdir, name)
        os.makedirs(folder, exist_ok=True)
        for i, p in enumerate(pixels):
            Image.fromarray(p[..., 0] if channels == 1 else p).save(os.path.join(folder, f"{i}.png"))
        array = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)).astype(np.float32) / 255
        np.save(os.path.join(workdir, name + ".npy"), array)
        sets[name] = folder
    return sets


def fashion_mnist_test_pngs(workdir, classes, count):
    """The first `count` test images of `classes`, in file order, as PNGs."""
    root = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    keep = np.flatnonzero(np.isin(labels, classes))[:count]
    folder = os.path.join(workdir, "fm_test")
    os.makedirs(folder, exist_ok=True)
    for i, k in enumerate(keep):
        Image.fromarray(images[k]).save(os.path.join(folder, f"{i}.png"))
    return folder


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAIL: exit code {result.returncode}\n{result.stderr[-2000:]}")
    return result.stdout


def fid_printed(output):
    for line in output.splitlines():
        if line.startswith("FID: "):
            return float(line.split()[1])
    sys.exit("FAIL: no 'FID:' line in\n" + output)


def close(name, ours, ref, tolerance):
    scale = max(np.abs(ref).max(), 1e-12)
    err = np.abs(ours - ref).max() / scale
    print(f"{name}: max rel err {err:.2e} (scale {scale:.3g})")
    return err <= tolerance


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--featreuse", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--pytorch-fid", default="")
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)  # pytorch-fid refuses to overwrite its .npz files
    os.makedirs(args.workdir)
    fid_score, inception = load_pytorch_fid(args.pytorch_fid)
    torch.set_num_threads(2)
    ok = True

    sets = write_sets(args.workdir)
    calibration = torch.from_numpy(np.load(os.path.join(args.workdir, "rgb.npy")))
    net = random_fid_inception(inception, calibration)
    weights = os.path.join(args.workdir, "fid_random.pth")
    torch.save(net.state_dict(), weights)
    inception.fid_inception_v3 = lambda: net  # pytorch-fid's own pipeline now uses these weights

    ours = {}
    for name, folder in sets.items():
        theirs_npz = os.path.join(args.workdir, name + "_pytorch_fid.npz")
        fid_score.save_fid_stats([folder, theirs_npz], batch_size=4, device="cpu", dims=2048, num_workers=0)
        ours[name] = os.path.join(args.workdir, name + "_featreuse.npz")
        run([args.featreuse, "fid", "--save-stats", os.path.join(args.workdir, name + ".npy"), ours[name],
             "--weights", weights, "--batch-size", "4", "--threads", "2"])
        a, b = np.load(ours[name]), np.load(theirs_npz)
        ok &= close(f"{name} mu", a["mu"], b["mu"].astype(np.float64), TOLERANCE)
        ok &= close(f"{name} sigma", a["sigma"], b["sigma"], TOLERANCE)
        same = fid_printed(run([args.featreuse, "fid", ours[name], theirs_npz]))
        print(f"{name}: FID(featreuse stats, pytorch-fid stats) = {same:.3e}")
        ok &= abs(same) <= 1e-3 * max(np.trace(b["sigma"]), 1.0)

    # The distance between the two sets, from images, both ways. With 6
    # images the covariances have rank 5, where scipy's sqrtm is only
    # approximate: a looser tolerance.
    theirs = fid_score.calculate_fid_given_paths([sets["rgb"], sets["gray"]], batch_size=4, device="cpu",
                                                 dims=2048, num_workers=0)
    mine = fid_printed(run([args.featreuse, "fid", os.path.join(args.workdir, "rgb.npy"),
                            os.path.join(args.workdir, "gray.npy"), "--weights", weights, "--batch-size", "4",
                            "--threads", "2"]))
    print(f"FID(rgb, gray): featreuse {mine:.6f}, pytorch-fid {theirs:.6f}")
    ok &= abs(mine - theirs) <= 1e-3 * abs(theirs)

    # A dataset split, normalised by featreuse's reader and brought back.
    fm_config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../data/configs/datasets/fm.yaml")
    folder = fashion_mnist_test_pngs(args.workdir, [0, 1, 2], 6)
    theirs_npz = os.path.join(args.workdir, "fm_pytorch_fid.npz")
    fid_score.save_fid_stats([folder, theirs_npz], batch_size=4, device="cpu", dims=2048, num_workers=0)
    ours_npz = os.path.join(args.workdir, "fm_featreuse.npz")
    run([args.featreuse, "fid", "--save-stats", fm_config, ours_npz, "--split", "test", "--max-images", "6",
         "--weights", weights, "--batch-size", "4", "--threads", "2"])
    a, b = np.load(ours_npz), np.load(theirs_npz)
    ok &= close("fm dataset mu", a["mu"], b["mu"].astype(np.float64), TOLERANCE)
    ok &= close("fm dataset sigma", a["sigma"], b["sigma"], TOLERANCE)

    # Full-rank random statistics: the formula against scipy's sqrtm.
    rng = np.random.RandomState(1)
    paths = []
    for k in range(2):
        d = 64
        m = rng.randn(d, 3 * d)
        sigma = m @ m.T / (3 * d) + 0.1 * np.eye(d)
        paths.append(os.path.join(args.workdir, f"random{k}.npz"))
        np.savez(paths[-1], mu=rng.randn(d), sigma=sigma)
    s0, s1 = np.load(paths[0]), np.load(paths[1])
    ref = fid_score.calculate_frechet_distance(s0["mu"], s0["sigma"], s1["mu"], s1["sigma"])
    mine = fid_printed(run([args.featreuse, "fid", paths[0], paths[1]]))
    print(f"FID(random stats): featreuse {mine:.10f}, pytorch-fid/scipy {ref:.10f}")
    ok &= abs(mine - ref) <= 1e-6 * abs(ref)

    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
