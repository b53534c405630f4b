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
  analyses STORE COUNT               COUNT analysis tasks, all done, linked from their cells; l2
                                     recomputed from the checkpoints; CKA of a network with itself 1
  same_training A B TOL              every task of A trained as in B (steps, best iteration, best
                                     checkpoint and test target within TOL); every analysis task's
                                     tables equal B's (bit for bit when TOL is 0)
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


def flat_values(f, flat):
    """Every value of a checkpoint dataset in its layout's order, float32: the entries listed in
    `<checkpoint>_shared` read from the checkpoint each row names (docs/store.md)."""
    layout = f[flat.attrs["layout"]][()]
    own = flat.astype("f4")[()]
    if flat.name + "_shared" not in f:
        return own
    shared = {r["name"].decode(): r["from"].decode() for r in f[flat.name + "_shared"][()]}
    bases = {path: (flat_values(f, f[path]), f[f[path].attrs["layout"]][()]) for path in set(shared.values())}
    values = np.empty(int(layout["numel"].sum()), dtype=np.float32)
    used = 0
    for row in layout:
        name, start, n = row["name"].decode(), int(row["offset"]), int(row["numel"])
        if name in shared:
            base, base_layout = bases[shared[name]]
            (match,) = [b for b in base_layout if b["name"].decode() == name]
            values[start:start + n] = base[int(match["offset"]):int(match["offset"]) + n]
        else:
            values[start:start + n], used = own[used:used + n], used + n
    if used != own.size:
        fail(f"{flat.name}: {own.size} values stored, its own entries {used}")
    return values


def state_dict(f, cid, which):
    """Rebuilds a state_dict from a flat checkpoint and its layout table, as docs/store.md shows."""
    flat = f["cells"][cid]["checkpoints"][which]
    layout = f[flat.attrs["layout"]][()]
    values = flat_values(f, flat)
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
            if text(g["kind"]) == "analysis":  # tables only: checked by the analyses command
                checked += 1
                continue
            sd, layout, flat = state_dict(f, cid, "best")
            if text(g["kind"]) in ("import", "st"):  # weights only: no training, curves or predictions
                if g["test/logits"].shape[0] != 0 or not np.array_equal(g["checkpoints/initial"][()], flat):
                    fail(f"{cid}: a weights-only task has predictions or two different checkpoints")
                checked += 1
                continue
            if int(layout["offset"][-1] + layout["numel"][-1]) != flat.size:
                fail(f"{cid}: layout does not cover the checkpoint")
            if config["model"]["arch"] == "resnet" and not any(name.endswith("running_mean") for name in sd):
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
                    if name.startswith(("fc.", "head.")):  # torchvision's and timm's heads
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


def task_digest(g):
    """A done task's outputs: checkpoints and predictions, or an analysis' tables."""
    digest = hashlib.sha256()
    if text(g["kind"]) == "analysis":
        for name in sorted(g["analysis"]):
            digest.update(g["analysis"][name][()].tobytes())
    else:
        for name in ("checkpoints/initial", "checkpoints/best", "test/logits"):
            digest.update(g[name][()].tobytes())
    return digest.hexdigest()


def snapshot(path, out):
    snap = {}
    with h5py.File(path, "r") as f:
        for cid, rec in records(f).items():
            if rec["status"] != "done":
                continue
            snap[cid] = {"attempts": rec["attempts"], "end_time": rec["end_time"],
                         "sha256": task_digest(f["cells"][cid])}
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
            if rec["status"] != "done" or rec["attempts"] != before["attempts"] or rec["end_time"] != before["end_time"]:
                fail(f"{cid}: was done at the snapshot but ran again ({rec['attempts']} attempts)")
            if task_digest(f["cells"][cid]) != before["sha256"]:
                fail(f"{cid}: checkpoint or predictions changed")
    print(f"ok: the {len(snap)} cells done at the snapshot are bit-for-bit unchanged")


def message(path, substring, count):
    with h5py.File(path, "r") as f:
        hits = [cid for cid, r in records(f).items() if r["status"] == "failed" and substring in r["message"]]
    if len(hits) != int(count):
        fail(f"{len(hits)} failed cells mention {substring!r}, expected {count}")
    print(f"ok: {len(hits)} failed cells mention {substring!r}")


def is_norm_parameter(name, sd):
    """BatchNorm (a module with running statistics) or a timm LayerNorm (norm, norm1, norm2)."""
    module, _, leaf = name.rpartition(".")
    return module + ".running_mean" in sd or module.rpartition(".")[2].startswith("norm")


def l2_drift(initial, best, module, buffers):
    """The paper's per-module mean of ||dW||_F / numel over the module's non-norm parameters."""
    scaled, squares = [], 0.0
    for name, w in initial.items():
        if not (name == module or name.startswith(module + ".")) or name in buffers:
            continue
        if is_norm_parameter(name, initial):
            continue
        d = float(np.linalg.norm((w.astype(np.float64) - best[name].astype(np.float64)).ravel()))
        scaled.append(d / w.size)
        squares += d * d
    return float(np.mean(scaled)), float(np.sqrt(squares)), len(scaled)


def analyses(path, count):
    with h5py.File(path, "r") as f:
        recs = records(f)
        tasks = [cid for cid in recs if text(f["cells"][cid]["kind"]) == "analysis"]
        if len(tasks) != int(count):
            fail(f"{len(tasks)} analysis tasks, expected {count}")
        l2_rows = cka_rows = 0
        for aid in tasks:
            g = f["cells"][aid]
            if recs[aid]["status"] != "done":
                fail(f"analysis {aid} is {recs[aid]['status']}: {recs[aid]['message']}")
            config = json.loads(text(g["config"]))
            name, cell = config["analysis"], config["cells"][0]
            for analysed in config["cells"]:
                link = f["cells"][analysed]["analysis"].get(name, getlink=True)
                if link.path != f"/cells/{aid}/analysis":
                    fail(f"/cells/{analysed}/analysis/{name} points at {link.path}")
            table = g["analysis"][name][()]
            if len(table) == 0:
                fail(f"{aid}: empty {name} table")
            if name == "l2":
                initial, layout, _ = state_dict(f, cell, "initial")
                best, _, _ = state_dict(f, cell, "best")
                buffers = {r["name"].decode() for r in layout if r["kind"] == b"buffer"}
                for row in table:
                    want = l2_drift(initial, best, row["probe"].decode(), buffers)
                    got = (row["mean_scaled"], row["frobenius"], int(row["tensors"]))
                    if got[2] != want[2] or not np.allclose(got[:2], want[:2], rtol=1e-6, atol=1e-12):
                        fail(f"{aid}: l2 of {row['probe'].decode()} is {got}, numpy gives {want}")
                    l2_rows += 1
            if name == "cka":
                for row in table:
                    if row["pair"] in (b"init_init", b"trained_trained") and row["row"] == row["col"]:
                        if abs(row["reference"] - 1) > 1e-6 or abs(row["minibatch"] - 1) > 1e-6:
                            fail(f"{aid}: CKA of {row['row'].decode()} with itself is {row['reference']}")
                        cka_rows += 1
            values = [table[c] for c in table.dtype.names if table.dtype[c].kind == "f"]
            if name in ("cka", "cka_cross", "l2", "attention_distance") and not all(np.isfinite(v).all() for v in values):
                fail(f"{aid}: non-finite values in its {name} table")
            if name in ("knn", "reinit") and not np.isfinite(table["target"]).all():
                fail(f"{aid}: non-finite target in its {name} table")
    print(f"ok: {len(tasks)} analyses done and linked; {l2_rows} l2 rows match numpy; "
          f"{cka_rows} CKA self-similarities are 1")


def first_difference(a, b, tol):
    """Where two analysis tables differ: (row, column, value in A, value in B), or None. Floats
    within `tol` of the column's largest magnitude count as equal; with tol 0, bit for bit."""
    for col in a.dtype.names:
        x, y = a[col], b[col]
        if x.dtype.kind == "f" and tol > 0:
            scale = max(float(np.nanmax(np.abs(y))) if np.isfinite(y).any() else 0.0, 1e-12)
            same = (np.abs(x - y) <= tol * scale) | (np.isnan(x) & np.isnan(y))
        else:  # the stored bytes: NaNs compare equal when their bits do
            same = np.array([xi.tobytes() == yi.tobytes() for xi, yi in zip(x, y)], dtype=bool)
        if not same.all():
            row = int(np.argmin(same))
            return row, col, x[row], y[row]
    return None


def same_tables(ga, gb, cid, tol):
    """An analysis task of A wrote the tables of B's: the same names, columns and rows, and values."""
    names_a, names_b = sorted(ga["analysis"]), sorted(gb["analysis"])
    if names_a != names_b:
        fail(f"{cid}: analysis tables {names_a} vs {names_b}")
    rows = 0
    for name in names_a:
        a, b = ga["analysis"][name][()], gb["analysis"][name][()]
        if a.dtype != b.dtype or a.shape != b.shape:
            fail(f"{cid}: table {name}: columns or rows differ ({a.dtype}, {a.shape} vs {b.dtype}, {b.shape})")
        diff = first_difference(a, b, tol)
        if diff is not None:
            row, col, x, y = diff
            fail(f"{cid}: table {name}, row {row}, column {col}: {x!r} vs {y!r} (tolerance {tol})")
        rows += len(a)
    return rows


def same_training(path_a, path_b, tolerance):
    """Every cell of A trained as in B: the same steps and best iteration, the
    best checkpoint and the test target within `tolerance` (relative to the
    largest magnitude); every analysis wrote B's tables (bit for bit at 0)."""
    tol = float(tolerance)
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        ra, rb = records(fa), records(fb)
        if sorted(ra) != sorted(rb):
            fail(f"{path_a} and {path_b} hold different tasks")
        worst = 0.0
        analyses = table_rows = 0
        for cid in ra:
            a, b = ra[cid], rb[cid]
            if a["status"] != "done" or b["status"] != "done":
                fail(f"{cid}: not done in both stores")
            for key in ("iterations", "best_iteration"):
                if a[key] != b[key]:
                    fail(f"{cid}: {key} {a[key]} vs {b[key]}")
            if text(fa["cells"][cid]["kind"]) == "analysis":  # tables, no checkpoints
                table_rows += same_tables(fa["cells"][cid], fb["cells"][cid], cid, tol)
                analyses += 1
                continue
            wa = fa["cells"][cid]["checkpoints"]["best"][()]
            wb = fb["cells"][cid]["checkpoints"]["best"][()]
            err = float(np.abs(wa - wb).max() / max(np.abs(wb).max(), 1e-12))
            worst = max(worst, err)
            if err > tol:
                fail(f"{cid}: best checkpoints differ by {err:.2e} of their largest weight (tolerance {tol})")
            if abs(a["target"] - b["target"]) > tol * max(abs(b["target"]), 1.0) * 100:
                fail(f"{cid}: test target {a['target']} vs {b['target']}")
    print(f"ok: {len(ra) - analyses} tasks trained alike; largest relative weight difference {worst:.2e}; "
          f"{analyses} analyses wrote the same tables ({table_rows} rows, tolerance {tol})")


if __name__ == "__main__":
    commands = {"counts": counts, "schema": schema, "ids": ids, "snapshot": snapshot, "unchanged": unchanged,
                "message": message, "analyses": analyses, "same_training": same_training}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    commands[sys.argv[1]](*sys.argv[2:])
