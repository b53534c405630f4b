#!/usr/bin/python3
"""torchvision oracle for the augmentation ops (test_augment.cpp).

Writes OUT.h5 with random float images in [0, 1] and, for fixed parameters,
what torchvision.transforms.functional (tensor path) returns; plus PIL's
RandomResizedCrop path on uint8 images, and statistics of torchvision's
RandomResizedCrop.get_params.
"""
import sys

import h5py
import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

torch.manual_seed(0)
rgb = torch.rand(3, 256, 256)
gray = torch.rand(1, 256, 256)
small = torch.rand(3, 96, 96)
u8 = (torch.rand(3, 256, 256) * 255).round().to(torch.uint8)

with h5py.File(sys.argv[1], "w") as f:
    f["rgb"] = rgb.numpy()
    f["gray"] = gray.numpy()
    f["small"] = small.numpy()
    f["u8"] = u8.numpy()
    boxes = [(10, 20, 200, 180), (0, 0, 256, 256), (30, 5, 150, 240), (3, 40, 213, 201)]
    f["boxes"] = np.array(boxes, dtype=np.int64)
    for k, (top, left, h, w) in enumerate(boxes):
        f[f"resized_crop/{k}"] = F.resized_crop(rgb, top, left, h, w, [224, 224],
                                                 T.InterpolationMode.BILINEAR, antialias=True).numpy()
        pil = F.resized_crop(F.to_pil_image(u8), top, left, h, w, [224, 224], T.InterpolationMode.BILINEAR)
        f[f"pil_resized_crop/{k}"] = np.asarray(pil)
    f["resize_small"] = F.resize(small, [256, 256], T.InterpolationMode.BILINEAR, antialias=True).numpy()
    f["center_crop"] = F.center_crop(rgb, [224, 224]).numpy()
    f["hflip"] = F.hflip(rgb).numpy()
    f["vflip"] = F.vflip(rgb).numpy()
    f["grayscale3"] = F.rgb_to_grayscale(rgb, 3).numpy()
    for name, fn, factors in [("brightness", F.adjust_brightness, [0.8, 0.93, 1.2]),
                              ("contrast", F.adjust_contrast, [0.8, 1.07, 1.2]),
                              ("saturation", F.adjust_saturation, [0.9, 1.1]),
                              ("hue", F.adjust_hue, [-0.1, 0.037, 0.1])]:
        f[f"{name}/factors"] = np.array(factors)
        for k, factor in enumerate(factors):
            f[f"{name}/rgb/{k}"] = fn(rgb, factor).numpy()
            f[f"{name}/gray/{k}"] = fn(gray, factor).numpy()
    mean, std = [0.415, 0.221, 0.073], [0.275, 0.150, 0.081]
    f["normalize"] = F.normalize(rgb, mean, std).numpy()

    # RandomResizedCrop.get_params on a 256 x 256 image with the reference's ranges.
    draws = np.array([T.RandomResizedCrop.get_params(rgb, (0.8, 1.2), (3 / 4, 4 / 3)) for _ in range(20000)])
    f["rrc_draws"] = draws  # i, j, h, w
