#!/usr/bin/python3
"""The reference's Python data pipeline, timed (benchmarks/loader.sh).

prepare ROOT WORKERS       PIL open + convert + Resize((256, 256)) of every APTOS
                           image on a process pool: images/s
loader  KIND ROOT WORKERS BATCHES
                           DataLoader(batch 64, shuffle, drop_last, WORKERS,
                           persistent workers) over the reference's train
                           transforms (Resize((256, 256)) first); KIND: aptos
                           (train.csv + train_images/*.png) or pngdir (a folder of
                           PNGs, e.g. PCam converted as the reference does).
topng   X_H5 OUTDIR            PCam x.h5 -> img_<i>.png, as the reference's first run does.
"""
import glob
import json
import os
import sys
import time
from multiprocessing import Pool

import torch
import torchvision.transforms as T
from PIL import Image

APTOS_MEAN, APTOS_STD = (0.415, 0.221, 0.073), (0.275, 0.150, 0.081)


def train_transform():
    steps = [T.Resize((256, 256)),
             T.RandomResizedCrop(224, scale=(0.8, 1.2), ratio=(3 / 4, 4 / 3)),
              T.RandomVerticalFlip(0.5), T.RandomHorizontalFlip(0.5),
              T.RandomApply([T.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.1, hue=0.1)], p=0.2),
              T.RandomGrayscale(0.2), T.ToTensor(), T.Normalize(APTOS_MEAN, APTOS_STD)]
    return T.Compose(steps)


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, transform):
        self.paths, self.transform = paths, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(Image.open(self.paths[i]).convert("RGB")), 0


def aptos_paths(root):
    import csv
    with open(os.path.join(root, "train.csv")) as f:
        return [os.path.join(root, "train_images", r["id_code"] + ".png") for r in csv.DictReader(f)]


def resize_one(path):
    return Image.open(path).convert("RGB").resize((256, 256), Image.BILINEAR).size


def main():
    cmd = sys.argv[1]
    torch.set_num_threads(1)
    if cmd == "prepare":
        root, workers = sys.argv[2], int(sys.argv[3])
        paths = aptos_paths(root)
        start = time.perf_counter()
        with Pool(workers) as pool:
            pool.map(resize_one, paths, chunksize=4)
        seconds = time.perf_counter() - start
        print(json.dumps({"kind": "python_prepare", "images": len(paths), "seconds": seconds,
                          "img_per_s": len(paths) / seconds, "workers": workers}))
    elif cmd == "loader":
        kind, root, workers, batches = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        paths = aptos_paths(root) if kind == "aptos" else sorted(glob.glob(os.path.join(root, "*.png")))
        data = Files(paths, train_transform())
        loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True, drop_last=True,
                                             num_workers=workers, persistent_workers=workers > 0)
        warmup, images, start = 2, 0, None
        done = 0
        while done < warmup + batches:
            for x, _ in loader:
                done += 1
                if done == warmup:
                    start = time.perf_counter()
                elif done > warmup:
                    images += x.shape[0]
                if done == warmup + batches:
                    break
        seconds = time.perf_counter() - start
        print(json.dumps({"kind": "python_loader_" + kind, "images": images, "seconds": seconds,
                          "img_per_s": images / seconds, "workers": workers}))
    elif cmd == "topng":
        import h5py
        x = h5py.File(sys.argv[2], "r")["x"]
        os.makedirs(sys.argv[3], exist_ok=True)
        for i in range(x.shape[0]):
            Image.fromarray(x[i]).save(os.path.join(sys.argv[3], f"img_{i}.png"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
