"""Safetensors files written and read with numpy + json only, for the oracles.

The format (8-byte little-endian header length, a JSON header padded with
spaces to 8 bytes, then the raw little-endian tensors) is small enough to
write by hand, and doing so keeps the oracles independent of the
safetensors package, which Debian does not ship.
"""
import json

import numpy as np
import torch

DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.float16: "F16"}
NUMPY = {"F32": np.float32, "I64": np.int64, "F16": np.float16}


def write_safetensors(path, state_dict):
    header, blobs, offset = {}, [], 0
    for key, t in state_dict.items():
        # Not np.ascontiguousarray: it turns a 0-d tensor (num_batches_tracked) into shape [1].
        a = t.detach().cpu().contiguous().numpy()
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[key] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = NUMPY[info["dtype"]]
        a = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=np.dtype(dtype).newbyteorder("<"))
        out[key] = torch.from_numpy(a.astype(dtype).reshape(info["shape"]))
    return out
