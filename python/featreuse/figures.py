"""The paper's figures from a featreuse store.

    python3 -m featreuse.figures STORE.h5 --out DIR [--where model=resnet_small ...]

Each figure is drawn from whatever done cells the store (or the --where
selection) holds, grouped by setting (model, dataset, train_size and any other
axis but the initialisation and the seed), with means +- sample std over seeds
as `featreuse report` prints them. A figure whose cells or analyses are absent
is skipped with a line naming what it needs, so one script serves the demo, a
partial study and the paper's full grid.

Figure numbers are the paper's: 1 (transfer gains), 2 (WT-ST sweep), 3 (CKA),
4 (l2 drift), 5 (re-initialisation), 6 (layer-wise k-NN), 8 (validation
curves) and App. E (attention distance). Drawn with matplotlib's object API on
the Agg canvas: no pyplot state, no display needed.
"""

import argparse
import math
import os
import re
import sys
import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .store import KNN_FEATURES, StoreError, open_store

DPI = 110
MIN_WIDTH = 7.5  # inches: room for a figure's title above a single panel
HEATMAP_MIN_WIDTH = 5.0  # heatmaps keep their aspect: wider would only add margins
# Axes that tell initialisations and seeds apart rather than settings.
NOT_SETTING = ("init", "seed", "source", "analysis", "wt_blocks", "wt_fraction")
BASE_INITS = ("RI", "ST", "WT")
INIT_COLOURS = {"RI": "#7f7f7f", "ST": "#ff7f0e", "WT": "#1f77b4"}


class Skipped(Exception):
    """A figure this store cannot give; the message names the cells or analyses it needs."""


# ---- the study: done cells, their settings and init labels --------------------


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
    for column, short in (("wt_fraction", "f"), ("wt_blocks", "t"), ("init.wt_fraction", "f"),
                          ("init.wt_blocks", "t")):
        value = row.get(column)
        if value is not None and not pd.isna(value):
            return f"WT-ST {short}={value:g}"
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


# ---- drawing helpers ------------------------------------------------------------


def panel_grid(count, width=4.6, height=3.4, columns=3, sharey=False):
    """A constrained-layout figure with `count` axes in rows of up to `columns`."""
    ncols = min(count, columns)
    nrows = math.ceil(count / ncols)
    figure = Figure(figsize=(max(width * ncols, MIN_WIDTH), height * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel()
    for extra in axes[count:]:
        extra.set_visible(False)
    return figure, axes[:count]


def save(figure, out_dir, name):
    path = os.path.join(out_dir, slug(name) + ".png")
    figure.savefig(path, dpi=DPI)
    return path


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def mean_std(series_list):
    """Mean and sample std over seeds of aligned Series (probe order of the first); std NaN for one seed."""
    frame = pd.concat(series_list, axis=1)
    frame = frame.reindex(series_list[0].index.append(frame.index.difference(series_list[0].index, sort=False)))
    return frame.mean(axis=1), frame.std(axis=1)


def probe_axis(axes, probes):
    axes.set_xticks(range(len(probes)))
    axes.set_xticklabels(probes, rotation=60, ha="right", fontsize=7)


def legend(axes):
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, frameon=False)


# ---- Figure 1: transfer gains ---------------------------------------------------


def figure1_target(study, out_dir):
    """Test target metric per setting and initialisation, mean +- std over seeds, a panel per model."""
    if study.cells.empty:
        raise Skipped(f"needs done cells; the selection has none ({study.requested} selected)")
    stats = study.cells.groupby(["model", "setting", "init_label"], sort=False)["target"].agg(["mean", "std", "count"])
    models = list(pd.unique(study.cells["model"]))
    figure, panels = panel_grid(len(models))
    colours = init_colours(study.cells["init_label"])
    for axes, model in zip(panels, models):
        draw_init_errorbars(axes, stats.loc[model], colours)
        axes.set_title(model)
        axes.set_ylabel(study.metric_name())
    figure.suptitle("Figure 1: test target metric by initialisation (mean ± std over seeds)")
    return [save(figure, out_dir, "figure1_target")]


def draw_init_errorbars(axes, stats, colours):
    """One marker per setting (x) and init (offset), with std error bars."""
    settings = list(pd.unique(stats.index.get_level_values("setting")))
    inits = ordered_inits(stats.index.get_level_values("init_label"))
    width = 0.7 / len(inits)
    for i, init in enumerate(inits):
        rows = stats.xs(init, level="init_label")
        x = [settings.index(s) - 0.35 + width * (i + 0.5) for s in rows.index]
        axes.errorbar(x, rows["mean"], yerr=rows["std"].fillna(0), fmt="o", capsize=3, color=colours[init], label=init)
    axes.set_xticks(range(len(settings)))
    axes.set_xticklabels(settings, rotation=20, ha="right", fontsize=8)
    legend(axes)


def transfer_gains(cells):
    """Per (model, setting) with RI, ST and WT means: WT/RI and (WT-ST)/WT, the latter min-max normalised over all."""
    means = cells.groupby(["model", "setting", "init_label"], sort=False)["target"].mean().unstack("init_label")
    if not set(BASE_INITS) <= set(means.columns):
        return pd.DataFrame()
    gains = means[list(BASE_INITS)].dropna()
    gains = gains.assign(gain=gains["WT"] / gains["RI"], reuse=(gains["WT"] - gains["ST"]) / gains["WT"])
    low, high = gains["reuse"].min(), gains["reuse"].max()
    gains["normalised"] = (gains["reuse"] - low) / (high - low) if high > low else 0.5
    return gains


def figure1_transfer(study, out_dir):
    """The paper's Figure 1 encoding: dot size WT/RI, colour the normalised feature-reuse share (WT-ST)/WT."""
    gains = transfer_gains(study.cells)
    if gains.empty:
        have = ", ".join(ordered_inits(study.cells["init_label"])) or "none"
        raise Skipped(f"needs done RI, ST and WT cells of the same setting (inits here: {have})")
    models = list(pd.unique(gains.index.get_level_values("model")))
    figure, panels = panel_grid(len(models), sharey=True)
    for axes, model in zip(panels, models):
        rows = gains.loc[model]
        axes.axhline(1.0, color="black", linewidth=0.6, linestyle=":")
        dots = axes.scatter(range(len(rows)), rows["gain"], s=300 * rows["gain"] ** 2, c=rows["normalised"],
                            cmap="viridis", vmin=0, vmax=1, edgecolors="black")
        for x, (gain, reuse) in enumerate(zip(rows["gain"], rows["reuse"])):
            axes.annotate(f"{gain:.2f}\n({reuse:.2f})", (x, gain), textcoords="offset points", xytext=(14, -4),
                          fontsize=7)
        axes.set_xticks(range(len(rows)))
        axes.set_xticklabels(rows.index, rotation=20, ha="right", fontsize=8)
        axes.set_xlim(-0.6, len(rows) - 0.2)
        axes.set_title(model)
        axes.set_ylabel("WT / RI (mean target)")
    figure.colorbar(dots, ax=list(panels), label="(WT-ST)/WT, min-max normalised")
    figure.suptitle("Figure 1: gain from transfer (size) and feature-reuse share (colour, raw value in brackets)")
    return [save(figure, out_dir, "figure1_transfer")]


# ---- Figure 2: the WT-ST sweep -------------------------------------------------------


def sweep_depth_column(cells):
    for column in ("wt_fraction", "init.wt_fraction", "wt_blocks", "init.wt_blocks"):
        if column in cells and cells[column].notna().any():
            return column
    return None


def figure2_wtst(study, out_dir):
    """Target metric vs the WT-ST depth, a line per model, a panel per setting; ST, WT and RI (*) for reference."""
    partial = study.cells[study.cells["init"] == "wtst"]
    if partial.empty:
        raise Skipped("needs done WT-ST cells (init wtst with wt_fraction or wt_blocks)")
    depth = sweep_depth_column(partial)
    fraction = "fraction" in depth
    settings = list(pd.unique(partial["setting"]))
    figure, panels = panel_grid(len(settings))
    for axes, setting in zip(panels, settings):
        for model in pd.unique(partial[partial["setting"] == setting]["model"]):
            cells = study.cells[(study.cells["setting"] == setting) & (study.cells["model"] == model)]
            draw_sweep_line(axes, cells, depth, fraction, model)
        axes.set_title(setting)
        axes.set_xlabel("WT fraction (0 = ST, 1 = WT)" if fraction else "WT up to block t (reference's index)")
        axes.set_ylabel(study.metric_name())
        legend(axes)
    figure.suptitle("Figure 2: which layers benefit from feature reuse (mean ± std over seeds; * = RI)")
    return [save(figure, out_dir, "figure2_wtst")]


def draw_sweep_line(axes, cells, depth, fraction, model):
    """One model's sweep; with fractions ST sits at 0 and WT at 1 as in the paper."""
    points = cells[cells["init"] == "wtst"].groupby(depth)["target"].agg(["mean", "std"])
    if fraction:
        ends = {0.0: cells[cells["init"] == "st"], 1.0: cells[cells["init"] == "wt"]}
        for x, end in ends.items():
            if not end.empty:
                points.loc[x] = [end["target"].mean(), end["target"].std()]
        points = points.sort_index()
    line = axes.errorbar(points.index.astype(float), points["mean"], yerr=points["std"].fillna(0), marker="o",
                         capsize=3, label=model)
    ri = cells[cells["init"] == "ri"]["target"]
    if not ri.empty:
        axes.plot([float(points.index.min())], [ri.mean()], marker="*", markersize=12, linestyle="none",
                  color=line[0].get_color())


# ---- Figures 4-6: one number per probe -----------------------------------------------------


def probe_curves(study, name, value=None):
    """(model, setting, {init label: (mean, std) Series over seeds}) for each setting with a done `name`."""
    analysed = study.analysed(name)
    if analysed.empty:
        raise Skipped(f"needs done '{name}' analyses of done cells (the job's analyses: {name})")
    for (model, setting), group in analysed.groupby(["model", "setting"], sort=False):
        by_init = {}
        for init, cells in group.groupby("init_label", sort=False):
            series = [study.store.probe_values(cell_id, name, value=value) for cell_id in cells["id"]]
            by_init[init] = mean_std(series)
        yield model, setting, group, {k: by_init[k] for k in ordered_inits(by_init)}


def draw_probe_figure(study, out_dir, name, file_name, title, ylabel, log_scale=False, baseline=False):
    """A panel per model and setting: the per-probe value of each init, mean +- std over analysed seeds."""
    curves = list(probe_curves(study, name))
    figure, panels = panel_grid(len(curves))
    colours = init_colours(study.cells["init_label"])
    for axes, (model, setting, group, by_init) in zip(panels, curves):
        probes = list(next(iter(by_init.values()))[0].index)
        for init, (mean, std) in by_init.items():
            x = np.arange(len(mean))
            axes.plot(x, mean.to_numpy(), marker="o", markersize=3, color=colours[init], label=init)
            axes.fill_between(x, (mean - std.fillna(0)).to_numpy(), (mean + std.fillna(0)).to_numpy(),
                              color=colours[init], alpha=0.2)
            if baseline:
                own = group[group["init_label"] == init]["target"].mean()
                axes.axhline(own, color=colours[init], linestyle="--", linewidth=0.8)
        probe_axis(axes, probes)
        if log_scale:
            axes.set_yscale("log")
        axes.set_title(f"{model}, {setting}", fontsize=9)
        axes.set_ylabel(ylabel)
        legend(axes)
    figure.suptitle(title)
    return [save(figure, out_dir, file_name)]


def figure4_l2(study, out_dir):
    return draw_probe_figure(study, out_dir, "l2", "figure4_l2",
                             "Figure 4: l2 distance of weights before and after fine-tuning, per module",
                             "mean ||W_init - W_best||_F / numel", log_scale=True)


def figure5_reinit(study, out_dir):
    return draw_probe_figure(study, out_dir, "reinit", "figure5_reinit",
                             "Figure 5: re-initialisation robustness (module reset to its initial weights; "
                             "dashed: not reset)", study_metric(study), baseline=True)


def figure6_knn(study, out_dir):
    return draw_probe_figure(study, out_dir, "knn", "figure6_knn",
                             f"Figure 6: layer-wise k-NN (feature per probe: first of {', '.join(KNN_FEATURES)})",
                             f"k-NN {study_metric(study)}")


def study_metric(study):
    return study.metric_name() if not study.cells.empty else "test target metric"


# ---- Figure 3: CKA heatmaps ------------------------------------------------------------------


def mean_matrix(matrices):
    """The element-wise mean of CKA matrices of several seeds (same probes)."""
    return sum(matrices[1:], matrices[0]) / len(matrices)


def cka_matrices(study, name, read):
    """(model, setting, {column title: {init label: mean matrix}}) per setting with done `name` analyses."""
    analysed = study.analysed(name)
    if analysed.empty:
        raise Skipped(f"needs done '{name}' analyses of done cells")
    for (model, setting), group in analysed.groupby(["model", "setting"], sort=False):
        by_column = {}
        for init, cells in group.groupby("init_label", sort=False):
            for title, matrices in read(cells["id"]).items():
                by_column.setdefault(title, {})[init] = mean_matrix(matrices)
        yield model, setting, by_column


def read_cka_pairs(store):
    """A reader of every pair's `all`-view matrix (reference estimator) for a list of cells."""
    def read(cell_ids):
        out = {}
        for cell_id in cell_ids:
            pairs = pd.unique(store.analysis(cell_id, "cka").index.get_level_values("pair"))
            for pair in pairs:
                out.setdefault(pair, []).append(store.cka(cell_id, pair=pair))
        return out
    return read


def read_cka_cross(store):
    def read(cell_ids):
        return {"vs ST partner": [store.cka_cross(cell_id) for cell_id in cell_ids]}
    return read


def draw_heatmaps(by_column, model, setting, title):
    """A heatmap per init and CKA pair (inits down, pairs across; one pair: inits across), colour 0..1."""
    columns = list(by_column)
    inits = ordered_inits(init for pair in by_column.values() for init in pair)
    cells = [[(init, column) for column in columns] for init in inits]
    if len(columns) == 1:
        cells = [[row[0] for row in cells]]
    size = max(len(next(iter(by_column[columns[0]].values()))), 4)
    width = max(2.2 + 0.32 * size * len(cells[0]), HEATMAP_MIN_WIDTH)
    figure = Figure(figsize=(width, 1.6 + 0.32 * size * len(cells)), layout="constrained")
    grid = figure.subplots(len(cells), len(cells[0]), squeeze=False)
    image = None
    for r, row in enumerate(cells):
        for c, (init, column) in enumerate(row):
            image = heatmap(grid[r][c], by_column[column].get(init), f"{init}: {column}") or image
    if image is not None:
        figure.colorbar(image, ax=grid.ravel().tolist(), label="linear CKA", shrink=0.6)
    figure.suptitle(f"{textwrap.fill(title, 60)}\n{model}, {setting}", fontsize=10)
    return figure


# Which networks a CKA pair compares: (rows, columns).
PAIR_AXES = {"init_init": ("initial", "initial"), "trained_init": ("fine-tuned", "initial"),
             "trained_trained": ("fine-tuned", "fine-tuned"), "vs ST partner": ("this cell", "ST partner")}


def heatmap(axes, matrix, title):
    if matrix is None:
        axes.set_visible(False)
        return None
    rows, columns = PAIR_AXES.get(title.split(": ", 1)[-1], ("", ""))
    axes.set_ylabel(rows, fontsize=7)
    axes.set_xlabel(columns, fontsize=7)
    image = axes.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap="magma", origin="lower")
    axes.set_xticks(range(matrix.shape[1]))
    axes.set_xticklabels(matrix.columns, rotation=90, fontsize=6)
    axes.set_yticks(range(matrix.shape[0]))
    axes.set_yticklabels(matrix.index, fontsize=6)
    axes.set_title(title, fontsize=8)
    return image


def draw_cka_figures(study, out_dir, analysis, pairs, title, stem):
    """One heatmap file per (model, setting) of `analysis`, named stem_model_setting."""
    paths = []
    for model, setting, by_column in cka_matrices(study, analysis, pairs):
        figure = draw_heatmaps(by_column, model, setting, title)
        paths.append(save(figure, out_dir, f"{stem}_{model}_{setting}"))
    return paths


def figure3_cka(study, out_dir):
    """CKA between layers before/after fine-tuning, per init (the paper's top row), one file per setting."""
    return draw_cka_figures(study, out_dir, "cka", read_cka_pairs(study.store),
                            "Figure 3 (top): CKA across layers (pairs: init_init, trained_init, trained_trained)",
                            "figure3_cka")


def figure3_cka_cross(study, out_dir):
    """CKA of transfer cells vs their ST partners after fine-tuning (the paper's bottom row)."""
    return draw_cka_figures(study, out_dir, "cka_cross", read_cka_cross(study.store),
                            "Figure 3 (bottom): CKA of each transfer cell (rows) vs its ST partner (columns)",
                            "figure3_cka_cross")


# ---- Figure 8: validation curves ------------------------------------------------------------


def figure8_curves(study, out_dir):
    """Validation target vs epoch per init (mean over seeds, +- std), a panel per model and setting."""
    groups = [(m, s, g) for m, s, g in study.groups()]
    if not groups:
        raise Skipped("needs done cells")
    figure, panels = panel_grid(len(groups))
    colours = init_colours(study.cells["init_label"])
    for axes, (model, setting, group) in zip(panels, groups):
        for init in ordered_inits(group["init_label"]):
            ids = group[group["init_label"] == init]["id"]
            draw_mean_curve(axes, [study.store.curves(i, "val") for i in ids], colours[init], init)
        axes.set_title(f"{model}, {setting}", fontsize=9)
        axes.set_xlabel("epoch")
        axes.set_ylabel("validation target metric")
        legend(axes)
    figure.suptitle("Figure 8 (left): validation curves (mean ± std over seeds)")
    return [save(figure, out_dir, "figure8_curves")]


def draw_mean_curve(axes, curves, colour, label):
    frame = pd.concat([c.set_index("epoch")["target"] for c in curves if not c.empty], axis=1)
    if frame.empty:
        return
    mean, std = frame.mean(axis=1), frame.std(axis=1).fillna(0)
    axes.plot(frame.index, mean, marker="o", markersize=3, color=colour, label=label)
    axes.fill_between(frame.index, mean - std, mean + std, color=colour, alpha=0.2)


# ---- Appendix E: attention distance -------------------------------------------------------------


def figure_e_attention(study, out_dir):
    """Mean attention distance of every head per block, initial and fine-tuned, per init (ViT cells)."""
    analysed = study.analysed("attention_distance")
    if analysed.empty:
        raise Skipped("needs done 'attention_distance' analyses (ViT cells: DeiT, Swin)")
    groups = list(analysed.groupby(["model", "setting"], sort=False))
    checkpoints = ("initial", "best")
    figure, panels = panel_grid(len(groups) * len(checkpoints), width=4.2, columns=2)
    colours = init_colours(analysed["init_label"])
    for g, ((model, setting), group) in enumerate(groups):
        for c, checkpoint in enumerate(checkpoints):
            axes = panels[g * len(checkpoints) + c]
            for init in ordered_inits(group["init_label"]):
                ids = group[group["init_label"] == init]["id"]
                draw_heads(axes, [study.store.attention_distance(i, checkpoint) for i in ids], colours[init], init)
            axes.set_title(f"{model}, {setting}: {checkpoint}", fontsize=9)
            axes.set_ylabel("mean attention distance (pixels)")
            legend(axes)
    figure.suptitle("App. E: attention distance per head (dots) and its mean over heads (line)")
    return [save(figure, out_dir, "appendix_e_attention")]


def draw_heads(axes, matrices, colour, label):
    """Every head of every seed as a dot at its block, the mean over heads and seeds as a line."""
    blocks = list(matrices[0].index)
    for matrix in matrices:
        for b, block in enumerate(blocks):
            axes.scatter([b] * matrix.shape[1], matrix.loc[block].to_numpy(), s=8, color=colour, alpha=0.5)
    means = pd.concat([m.mean(axis=1) for m in matrices], axis=1).mean(axis=1).reindex(blocks)
    axes.plot(range(len(blocks)), means.to_numpy(), color=colour, label=label)
    probe_axis(axes, blocks)


# ---- driver -------------------------------------------------------------------------------------

FIGURES = (
    ("Figure 1 (target by init)", figure1_target),
    ("Figure 1 (transfer gains)", figure1_transfer),
    ("Figure 2 (WT-ST sweep)", figure2_wtst),
    ("Figure 3 (CKA)", figure3_cka),
    ("Figure 3 (CKA vs ST)", figure3_cka_cross),
    ("Figure 4 (l2 drift)", figure4_l2),
    ("Figure 5 (re-initialisation)", figure5_reinit),
    ("Figure 6 (k-NN)", figure6_knn),
    ("Figure 8 (validation curves)", figure8_curves),
    ("App. E (attention distance)", figure_e_attention),
)


def draw_all(store, out_dir, where=None, log=print):
    """Draw every figure the store can give into out_dir; returns (written paths, [(figure, why skipped)])."""
    os.makedirs(out_dir, exist_ok=True)
    study = Study(store, where)
    written, skipped = [], []
    for name, draw in FIGURES:
        try:
            paths = draw(study, out_dir)
        except Skipped as why:
            skipped.append((name, str(why)))
            log(f"{name}: skipped: {why}")
            continue
        written.extend(paths)
        log(f"{name}: {', '.join(os.path.basename(p) for p in paths)}")
    return written, skipped


def parse_where(items):
    """['model=resnet_small', 'init=ri,wt', 'train_size=250'] -> {axis: value or list}, numbers typed."""
    where = {}
    for item in items or []:
        axis, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--where {item!r}: expected AXIS=VALUE[,VALUE...]")
        values = [typed_value(v) for v in text.split(",")]
        where[axis] = values if len(values) > 1 else values[0]
    return where


def typed_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None if text in ("none", "null") else text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="featreuse-figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a featreuse store (.h5)")
    parser.add_argument("--out", required=True, help="folder for the PNGs")
    parser.add_argument("--where", nargs="*", metavar="AXIS=VALUE",
                        help="only cells with these axis values, e.g. model=resnet_small train_size=250,2500")
    args = parser.parse_args(argv)
    try:
        where = parse_where(args.where)
        with open_store(args.store) as store:
            written, _ = draw_all(store, args.out, where)
    except (StoreError, ValueError, FileNotFoundError) as error:
        print(f"featreuse-figures: {error}", file=sys.stderr)
        return 1
    if not written:
        print("featreuse-figures: no figure could be drawn from this store", file=sys.stderr)
        return 1
    print(f"{len(written)} figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
