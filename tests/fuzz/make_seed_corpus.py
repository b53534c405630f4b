#!/usr/bin/python3
"""Writes the safetensors seed corpus (tests/fuzz/corpus/safetensors/):
small valid files covering every dtype, metadata, 0-d and empty tensors,
plus a few malformed ones. Needs only numpy. Usage: make_seed_corpus.py OUTDIR"""
import json
import os
import sys

import numpy as np


def st(tensors, metadata=None, pad=True):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    r = np.random.default_rng(0)
    seeds = {
        "valid_f32": st({"w": ("F32", r.standard_normal((2, 3)).astype("<f4"))}),
        "valid_all_dtypes": st({
            "a": ("F64", r.standard_normal(2).astype("<f8")),
            "b": ("F16", r.standard_normal(3).astype("<f2")),
            "c": ("BF16", (r.integers(0, 65535, 2)).astype("<u2")),
            "d": ("I64", np.array([1, -2], "<i8")),
            "e": ("I32", np.array([7], "<i4")),
            "f": ("I16", np.array([7, 8], "<i2")),
            "g": ("I8", np.array([-1], "i1")),
            "h": ("U8", np.array([255, 0], "u1")),
            "i": ("BOOL", np.array([1, 0, 1], "u1")),
        }, metadata={"format": "pt"}),
        "valid_scalar_and_empty": st({"s": ("F32", np.array(1.5, "<f4")), "z": ("F32", np.zeros((0, 4), "<f4"))}),
        "valid_unpadded": st({"x": ("I64", np.arange(3, dtype="<i8"))}, pad=False),
        "bad_offsets": st({"w": ("F32", np.zeros(2, "<f4"))})[:-4],
        "bad_dtype": st({"w": ("F8_E4M3", np.zeros(2, "u1"))}),
        "bad_header_len": (10**6).to_bytes(8, "little") + b"{}",
        "empty_header": st({}),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
