"""The study the figures draw: a store's done cells, their settings, init labels and WT-ST depths."""

import re

import pandas as pd

# Axes that tell initialisations and seeds apart rather than settings.
NOT_SETTING = ("init", "seed", "source", "analysis", "wt_blocks", "wt_fraction")
BASE_INITS = ("RI", "ST", "WT")
INIT_COLOURS = {"RI": "#7f7f7f", "ST": "#ff7f0e", "WT": "#1f77b4"}
# The WT-ST depth axes, the preferred first: a fraction puts ST at 0 and WT at 1.
DEPTH_COLUMNS = ("wt_fraction", "init.wt_fraction", "wt_blocks", "init.wt_blocks")


class Skipped(Exception):
    """A figure this store cannot give; the message names the cells or analyses it needs."""


class Study:
    """The done cells of a store (optionally a selection), labelled for plotting."""

    def __init__(self, store, where=None):
        self.store = store
        cells = store.cells(kind="cell", where=where)
        self.requested = len(cells)
        self.setting_columns = [c for c in store.axis_columns()
                                if c not in NOT_SETTING and not c.startswith("init.") and c in cells]
        cells = numeric_order(cells[cells["status"] == "done"], self.setting_columns)
        cells["init_label"] = [init_label(row) for _, row in cells.iterrows()]
        cells["setting"] = setting_labels(cells, self.setting_columns)
        self.cells = cells

    def groups(self):
        """(model, setting label, cells) per setting, models and settings in first-seen order."""
        for (model, setting), group in self.cells.groupby(["model", "setting"], sort=False):
            yield model, setting, group

    def metric_name(self):
        """The target metric's name for axis labels ('test target metric' when datasets differ)."""
        if self.cells.empty:
            return "test target metric"
        names = pd.unique(self.cells["target_metric"])
        return f"test {names[0]}" if len(names) == 1 else "test target metric"

    def analysed(self, name):
        """The done cells whose analysis `name` is done, with the analysis task's id."""
        rows = []
        for _, row in self.cells.iterrows():
            if name not in self.store.analyses(row["id"]):
                continue
            task = self.store.analysis_task(row["id"], name)
            if self.store.record(task)["status"] == "done":
                rows.append(row)
        return pd.DataFrame(rows).reset_index(drop=True) if rows else self.cells.iloc[0:0]


def numeric_order(cells, columns):
    """Cells sorted by their numeric setting axes (250 before 2500 before 10000), text axes as the store lists them."""
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(cells[c])]
    return (cells.sort_values(numeric, kind="stable") if numeric else cells).reset_index(drop=True)


def init_label(row):
    """RI / ST / WT, or 'WT-ST f=0.5' / 'WT-ST t=3' with the depth of a WT-ST cell."""
    init = row.get("init")
    if init != "wtst":
        return str(init).upper()
    for column in DEPTH_COLUMNS:
        value = row.get(column)
        if value is not None and not pd.isna(value):
            return f"WT-ST {'f' if 'fraction' in column else 't'}={value:g}"
    return "WT-ST"


def init_depth(label):
    """Where a label sorts: RI, ST, the WT-ST depths ascending, then WT (the paper's 0 = ST ... 1 = WT)."""
    if label in ("RI", "ST"):
        return (0, BASE_INITS.index(label), 0.0)
    match = re.search(r"=(-?[0-9.e+-]+)$", label)
    if label.startswith("WT-ST"):
        return (1, 0, float(match.group(1)) if match else 0.0)
    return (2, 0, 0.0)


def ordered_inits(labels):
    return sorted(pd.unique(pd.Series(list(labels))), key=init_depth)


def init_colours(labels):
    """Fixed colours for RI/ST/WT; WT-ST depths shade from ST's towards WT's."""
    colours = dict(INIT_COLOURS)
    partial = [l for l in ordered_inits(labels) if l not in colours]
    for i, label in enumerate(partial):
        t = (i + 1) / (len(partial) + 1)
        colours[label] = blend(INIT_COLOURS["ST"], INIT_COLOURS["WT"], t)
    return colours


def blend(a, b, t):
    rgb = [(1 - t) * int(a[i:i + 2], 16) + t * int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{int(round(c)):02x}" for c in rgb)


def setting_labels(cells, columns):
    """A short label per cell for its setting: the non-model setting axes that vary (else the dataset)."""
    varying = [c for c in columns if c != "model" and cells[c].astype(str).nunique() > 1]
    shown = varying or [c for c in ("dataset",) if c in columns]
    return [", ".join(f"{c}={row[c]}" if varying else f"{row[c]}" for c in shown) or "all"
            for _, row in cells.iterrows()]


# ---- WT-ST depths ------------------------------------------------------------------


def sweep_depth_column(cells):
    """The axis that holds the WT-ST cells' depth (a fraction if the store has one), or None."""
    for column in DEPTH_COLUMNS:
        if column in cells and cells[column].notna().any():
            return column
    return None


def sweep_positions(cells, depth):
    """Each cell's x on a WT-ST sweep: its depth for WT-ST cells; with fractions ST at 0 and WT at 1
    (as in the paper); NaN for cells off the sweep (RI, and ST/WT with block depths)."""
    x = pd.Series(float("nan"), index=cells.index)
    partial = (cells["init"] == "wtst").to_numpy()
    x[partial] = cells.loc[partial, depth].to_numpy(dtype=float, na_value=float("nan"))
    if "fraction" in depth:
        x[(cells["init"] == "st").to_numpy()] = 0.0
        x[(cells["init"] == "wt").to_numpy()] = 1.0
    return x


def depth_label(depth):
    """The x-axis label of a WT-ST sweep."""
    return "WT fraction (0 = ST, 1 = WT)" if "fraction" in depth else "WT up to block t (reference's index)"


def require_sweep(cells, what="done WT-ST cells (init wtst with wt_fraction or wt_blocks)"):
    """The depth column of the WT-ST cells among `cells`, or Skipped naming `what` is needed."""
    depth = sweep_depth_column(cells[cells["init"] == "wtst"]) if not cells.empty else None
    if depth is None:
        raise Skipped(f"needs {what}")
    return depth
