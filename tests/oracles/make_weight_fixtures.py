#!/usr/bin/python3
"""Writes the small torch.save fixtures in tests/data/weights/ that the
weight-reader unit tests (tests/unit/models/test_weights.cpp) check against.

Usage: make_weight_fixtures.py OUTDIR   (Debian /usr/bin/python3 with torch)

Files:
  tiny_zip.pth       torch.save(state_dict) in the zip format
  tiny_legacy.pth    the same with _use_new_zipfile_serialization=False
  tiny_wrapped.pth   {"model": state_dict, "epoch": 3, "args": Namespace(...)}
  tiny_expected.json every tensor's dtype, shape and values (flattened, as
                     float64 or int), for the C++ test to compare with
The state_dict is an OrderedDict with _metadata, as nn.Module.state_dict()
returns, and holds float32/float16/bfloat16/int64/bool tensors, a tensor that
is a strided view sharing its storage with another, and a 0-d tensor.
"""
import argparse
import collections
import json
import os
import sys

import torch


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict()
    sd["conv.weight"] = base
    sd["conv.weight_t"] = base.t()[1:5:2]          # strided view into the same storage
    sd["bn.running_mean"] = torch.randn(5, generator=g).half()
    sd["bn.scale"] = torch.randn(3, generator=g).bfloat16()
    sd["bn.num_batches_tracked"] = torch.tensor(11)  # 0-d int64
    sd["mask"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])

    torch.save(sd, os.path.join(out, "tiny_zip.pth"))
    torch.save(sd, os.path.join(out, "tiny_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"model": sd, "epoch": 3, "args": argparse.Namespace(lr=0.1)},
               os.path.join(out, "tiny_wrapped.pth"))

    expected = collections.OrderedDict()
    for k, t in sd.items():
        vals = t.reshape(-1)
        vals = vals.double().tolist() if t.is_floating_point() else [int(v) for v in vals.tolist()]
        expected[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "values": vals}
    with open(os.path.join(out, "tiny_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
