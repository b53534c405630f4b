#!/usr/bin/python3
"""Marks the analysis tasks of a finished store pending, so the next `featreuse run` of the same job
redoes them (same ids, same options, the cells' stored checkpoints) and records their new wall times:
a way to time the analyses alone, e.g. two builds one after the other on copies of one store.
Work on a copy: the store's earlier analysis tables are overwritten.

Usage: reset_analyses.py STORE [ANALYSIS...]   (no names: every analysis)
"""
import json
import sys

import h5py


def main(path, names):
    reset = 0
    with h5py.File(path, "r+") as f:
        for cell in f["cells"].values():
            if cell["kind"][()].decode() != "analysis":
                continue
            if names and json.loads(cell["config"][()].decode())["analysis"] not in names:
                continue
            record = cell["record"][()]
            record["status"] = b"pending"
            cell["record"][()] = record
            reset += 1
    print(f"{reset} analysis tasks marked pending in {path}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], set(sys.argv[2:]))
