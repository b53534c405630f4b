#!/usr/bin/python3
"""PIL oracle for the image decoder and resizer (test_image.cpp).

Writes test images (PNG in several colour types and bit depths, JPEG colour
and gray) into OUTDIR and, in OUTDIR/expected.h5, what the reference pipeline
makes of each: Image.open(f).convert(mode) and .resize((256, 256), BILINEAR).
"""
import os
import sys

import h5py
import numpy as np
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1234)


def smooth(h, w, c):
    # Gradients plus blobs plus noise: content with both edges and flat areas.
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = [128 + 100 * np.sin(x / (7 + 5 * k) + y / (11 + 3 * k)) for k in range(c)]
    img = np.stack(base, -1) + rng.normal(0, 12, (h, w, c))
    return np.clip(img, 0, 255).astype(np.uint8)


cases = []  # (file, modes)
def png(name, arr, mode, **kw):
    Image.fromarray(arr, mode).save(f"{out}/{name}.png", **kw)
    cases.append(f"{name}.png")

png("rgb_640x480", smooth(480, 640, 3), "RGB")
png("rgb_300x200", smooth(200, 300, 3), "RGB")
png("rgb_257x255", smooth(255, 257, 3), "RGB")
png("rgb_100x90", smooth(90, 100, 3), "RGB")        # upscaling
png("rgb_1999x1501", smooth(1501, 1999, 3), "RGB", compress_level=1)
png("gray_500x400", smooth(400, 500, 1)[:, :, 0], "L")
png("rgba_320x240", smooth(240, 320, 4), "RGBA")
png("palette_200x300", np.array(Image.fromarray(smooth(300, 200, 3)).quantize(64)), "P")
# 16-bit RGB through numpy is awkward in PIL; write it with raw big-endian rows.
wide = smooth(150, 180, 3).astype(">u2") * 257 + rng.integers(0, 256, (150, 180, 3)).astype(">u2")
# PIL cannot write 16-bit RGB PNGs, so build one by hand (zlib, filter 0).
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\x00" + wide[r].tobytes() for r in range(wide.shape[0]))
with open(f"{out}/rgb16_180x150.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 180, 150, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
cases.append("rgb16_180x150.png")

for name, arr, mode in [("jpeg_rgb_1024x768", smooth(768, 1024, 3), "RGB"),
                        ("jpeg_rgb_333x251", smooth(251, 333, 3), "RGB"),
                        ("jpeg_gray_800x600", smooth(600, 800, 1)[:, :, 0], "L")]:
    Image.fromarray(arr, mode).save(f"{out}/{name}.jpg", quality=90)
    cases.append(f"{name}.jpg")

with h5py.File(f"{out}/expected.h5", "w") as f:
    f.attrs["files"] = np.bytes_(",".join(cases))  # fixed-length: what h5::get_string_attribute reads
    for name in cases:
        for mode in ("RGB", "L"):
            im = Image.open(f"{out}/{name}").convert(mode)
            f[f"{mode}/decoded/{name}"] = np.asarray(im)
            f[f"{mode}/resized/{name}"] = np.asarray(im.resize((256, 256), Image.BILINEAR))
