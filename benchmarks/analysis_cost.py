#!/usr/bin/python3
"""What the analyses of each analysed cell cost against that cell's training, from a store's records
(wall times of the same run, so both saw the same machine load).

A cell's analyses share their test passes: the one that ran first (usually knn) made the others'
tables too and carries their time, and theirs is the time to write their tables. The per-cell sum
is what they cost.

Usage: analysis_cost.py STORE
"""
import collections
import json
import sys

import h5py


def text(d):
    v = d[()]
    return v.decode() if isinstance(v, bytes) else str(v)


def main(path):
    with h5py.File(path, "r") as f:
        cells = f["cells"]
        wall, key, per_cell = {}, {}, collections.defaultdict(dict)
        for cid in cells:
            rec = cells[cid]["record"][()]
            wall[cid] = float(rec["wall_s"])
            key[cid] = text(cells[cid]["key"])
            if text(cells[cid]["kind"]) == "analysis" and rec["status"] == b"done":
                config = json.loads(text(cells[cid]["config"]))
                per_cell[config["cells"][0]][config["analysis"]] = wall[cid]
    names = sorted({n for by in per_cell.values() for n in by})
    print("cell | training s | " + " | ".join(names) + " | analyses / training")
    total_train = total_analyses = 0.0
    for cid, by in sorted(per_cell.items(), key=lambda item: key[item[0]]):
        spent = sum(by.values())
        total_train += wall[cid]
        total_analyses += spent
        cols = " | ".join(f"{by[n]:.1f}" if n in by else "-" for n in names)
        print(f"{key[cid]} | {wall[cid]:.1f} | {cols} | {spent / wall[cid]:.0%}")
    if total_train:
        print(f"all analysed cells: training {total_train:.0f} s, analyses {total_analyses:.0f} s, "
              f"ratio {total_analyses / total_train:.0%}")


if __name__ == "__main__":
    main(sys.argv[1])
