#!/usr/bin/python3
"""Independent checks of a featreuse store with h5py, numpy and pandas.

Usage: check_store.py COMMAND STORE [args]; exits non-zero with a message on failure.
  counts STORE DONE FAILED PENDING   status counts from the per-cell records and the results table
  schema STORE                       every done cell is complete: checkpoints rebuild a state_dict,
                                     curves, test predictions, results row mirrors the record
  ids STORE OTHER                    both stores hold the same cell ids
  snapshot STORE OUT.json            attempts, end times and checkpoint hashes of done cells
  unchanged STORE SNAP.json          done cells of the snapshot are bit-for-bit the same
  message STORE SUBSTRING COUNT      COUNT failed cells have SUBSTRING in their message
"""
import hashlib
import json
import sys

import h5py
import numpy as np
import pandas as pd


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def text(dataset):
    value = dataset[()]
    return value.decode() if isinstance(value, bytes) else str(value)


def records(f):
    out = {}
    for cid, group in f["cells"].items():
        rec = group["record"][()]
        out[cid] = {name: (rec[name].decode() if isinstance(rec[name], bytes) else rec[name].item())
                    for name in rec.dtype.names}
    return out


def state_dict(f, cid, which):
    """Rebuilds a state_dict from a flat checkpoint and its layout table, as docs/store.md shows."""
    flat = f["cells"][cid]["checkpoints"][which]
    layout = f[flat.attrs["layout"]][()]
    values = flat[()]
    out = {}
    for row in layout:
        shape = tuple(int(s) for s in row["shape"].decode().split(",") if s)
        start, n = int(row["offset"]), int(row["numel"])
        t = values[start:start + n].reshape(shape)
        if row["dtype"] == b"int64":
            t = t.astype(np.int64)
        out[row["name"].decode()] = t
    return out, layout, values


def counts(path, done, failed, pending):
    with h5py.File(path, "r") as f:
        recs = records(f)
        got = [sum(r["status"] == s for r in recs.values()) for s in ("done", "failed", "pending")]
        df = pd.DataFrame(f["results"][()])
        mirrored = [int((df.status == s.encode()).sum()) for s in ("done", "failed", "pending")]
    want = [int(done), int(failed), int(pending)]
    if got != want:
        fail(f"records: done/failed/pending {got}, expected {want}")
    if mirrored != want:
        fail(f"results table: done/failed/pending {mirrored}, expected {want}")
    print(f"ok: {path}: {got[0]} done, {got[1]} failed, {got[2]} pending (records and results agree)")


def schema(path):
    with h5py.File(path, "r") as f:
        if f.attrs["format"] not in (b"featreuse-store", "featreuse-store"):
            fail("not a featreuse store")
        df = pd.DataFrame(f["results"][()])
        recs = records(f)
        if len(df) != len(recs):
            fail(f"results has {len(df)} rows for {len(recs)} cells")
        checked = 0
        for cid, rec in recs.items():
            row = df[df.id == cid.encode()].iloc[0]
            if row.status.decode() != rec["status"] or row.attempts != rec["attempts"]:
                fail(f"{cid}: results row does not mirror the record")
            config = json.loads(text(f["cells"][cid]["config"]))
            key = text(f["cells"][cid]["key"])
            if row.key.decode() != key:
                fail(f"{cid}: results key {row.key} != {key}")
            if rec["status"] != "done":
                continue
            g = f["cells"][cid]
            sd, layout, flat = state_dict(f, cid, "best")
            if text(g["kind"]) in ("import", "st"):  # weights only: no training, curves or predictions
                if g["test/logits"].shape[0] != 0 or not np.array_equal(g["checkpoints/initial"][()], flat):
                    fail(f"{cid}: a weights-only task has predictions or two different checkpoints")
                checked += 1
                continue
            if int(layout["offset"][-1] + layout["numel"][-1]) != flat.size:
                fail(f"{cid}: layout does not cover the checkpoint")
            if not any(name.endswith("running_mean") for name in sd):
                fail(f"{cid}: no BatchNorm buffers in the layout")
            init, _, init_flat = state_dict(f, cid, "initial")
            if np.array_equal(init_flat, flat):
                fail(f"{cid}: best checkpoint equals the initial one")
            if not np.isfinite(flat).all():
                fail(f"{cid}: non-finite weights")
            logits = g["test/logits"][()]
            labels = g["test/labels"][()]
            if logits.shape[0] != labels.shape[0] or logits.ndim != 2:
                fail(f"{cid}: test logits {logits.shape} vs labels {labels.shape}")
            acc = float((logits.argmax(1) == labels).mean())
            if abs(acc - rec["test_accuracy"]) > 1e-9:
                fail(f"{cid}: stored accuracy {rec['test_accuracy']} but logits give {acc}")
            train = g["curves/train"][()]
            val = g["curves/val"][()]
            train = train[train["iteration"] >= 0]
            val = val[val["iteration"] >= 0]
            if len(train) == 0 or len(val) == 0:
                fail(f"{cid}: empty curves")
            if not np.all(np.diff(train["iteration"]) > 0):
                fail(f"{cid}: train curve iterations not increasing")
            # 0: no validation rose above 0, so the initial weights were kept (as the reference).
            if rec["best_iteration"] not in set(val["iteration"].tolist()) | {0}:
                fail(f"{cid}: best iteration {rec['best_iteration']} is not a validation point")
            if config["kind"] == "cell" and config["init"]["scheme"] == "wt":
                source = config["init"]["source"]
                src, _, _ = state_dict(f, source, "best")
                # WT: every non-head tensor of the initial checkpoint is the source's best.
                for name, t in init.items():
                    if name.startswith("fc."):
                        continue
                    want = src[name]
                    if want.shape != t.shape:  # a 3-channel source stem into a 1-channel model: channel 0
                        want = want[:, :1]
                    if not np.array_equal(t, want):
                        fail(f"{cid}: initial {name} differs from source {source}")
            checked += 1
    print(f"ok: {path}: schema of {checked} done cells verified")


def ids(path, other):
    with h5py.File(path, "r") as a, h5py.File(other, "r") as b:
        ia, ib = set(a["cells"].keys()), set(b["cells"].keys())
    if ia != ib:
        fail(f"ids differ: {sorted(ia ^ ib)}")
    print(f"ok: the same {len(ia)} ids")


def snapshot(path, out):
    snap = {}
    with h5py.File(path, "r") as f:
        for cid, rec in records(f).items():
            if rec["status"] != "done":
                continue
            g = f["cells"][cid]
            digest = hashlib.sha256()
            for name in ("checkpoints/initial", "checkpoints/best", "test/logits"):
                digest.update(g[name][()].tobytes())
            snap[cid] = {"attempts": rec["attempts"], "end_time": rec["end_time"], "sha256": digest.hexdigest()}
    with open(out, "w") as fh:
        json.dump(snap, fh)
    print(f"ok: snapshot of {len(snap)} done cells")


def unchanged(path, snap_file):
    with open(snap_file) as fh:
        snap = json.load(fh)
    with h5py.File(path, "r") as f:
        recs = records(f)
        for cid, before in snap.items():
            rec = recs[cid]
            g = f["cells"][cid]
            digest = hashlib.sha256()
            for name in ("checkpoints/initial", "checkpoints/best", "test/logits"):
                digest.update(g[name][()].tobytes())
            if rec["status"] != "done" or rec["attempts"] != before["attempts"] or rec["end_time"] != before["end_time"]:
                fail(f"{cid}: was done at the snapshot but ran again ({rec['attempts']} attempts)")
            if digest.hexdigest() != before["sha256"]:
                fail(f"{cid}: checkpoint or predictions changed")
    print(f"ok: the {len(snap)} cells done at the snapshot are bit-for-bit unchanged")


def message(path, substring, count):
    with h5py.File(path, "r") as f:
        hits = [cid for cid, r in records(f).items() if r["status"] == "failed" and substring in r["message"]]
    if len(hits) != int(count):
        fail(f"{len(hits)} failed cells mention {substring!r}, expected {count}")
    print(f"ok: {len(hits)} failed cells mention {substring!r}")


if __name__ == "__main__":
    commands = {"counts": counts, "schema": schema, "ids": ids, "snapshot": snapshot, "unchanged": unchanged,
                "message": message}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    commands[sys.argv[1]](*sys.argv[2:])
