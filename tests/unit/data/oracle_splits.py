#!/usr/bin/python3
"""Reference split code, run literally (test_splits.cpp).

usage: oracle_splits.py holdout N VAL_SIZE SEED   -> JSON {train, val, test}
       oracle_splits.py chexpert PATHS_FILE        -> JSON {train, val, test} or {"error": ...}
"""
import json
import random
import sys

import pandas as pd

if sys.argv[1] == "holdout":
    # BaseSet.get_validation_ids of the reference code.
    total, val_size, seed = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    idxs = list(range(total))
    random.Random(seed).shuffle(idxs)
    n_vt = int(total * val_size) if val_size < 1 else int(val_size)
    held, train = idxs[:n_vt], idxs[n_vt:]
    print(json.dumps({"train": train, "val": held[:int(n_vt / 2)], "test": held[int(n_vt / 2):]}))
else:
    # CheXpert's cut: sort by Path, label-based .loc slices.
    paths = open(sys.argv[2]).read().split("\n")
    df = pd.DataFrame({"Path": paths})
    df = df.sort_values("Path")
    n_vt = int(0.2 * len(df)) + 15
    try:
        train = df.loc[n_vt:]
        held = df.loc[:n_vt]
        val = held.loc[:int(len(held) / 2)]
        test = held.loc[int(len(held) / 2):]
        print(json.dumps({"train": list(map(int, train.index)), "val": list(map(int, val.index)),
                          "test": list(map(int, test.index))}))
    except KeyError as e:
        print(json.dumps({"error": str(e)}))
