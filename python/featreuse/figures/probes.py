"""Figures 4-6: layer-wise analyses, one number per probe (l2 drift, re-initialisation, k-NN), and
Figure 6's bottom row, the best k-NN score over the probes per WT-ST depth."""

import numpy as np
import pandas as pd

from ..store import KNN_FEATURES
from .draw import errorbar_line, legend, mean_std, panel_grid, probe_axis, save
from .study import Skipped, depth_label, init_colours, ordered_inits, require_sweep, sweep_positions


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
            draw_band(axes, mean, std, colours[init], init)
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


def draw_band(axes, mean, std, colour, label):
    """A per-probe line with a +-std band."""
    x = np.arange(len(mean))
    axes.plot(x, mean.to_numpy(), marker="o", markersize=3, color=colour, label=label)
    axes.fill_between(x, (mean - std.fillna(0)).to_numpy(), (mean + std.fillna(0)).to_numpy(),
                      color=colour, alpha=0.2)


def figure4_l2(study, out_dir):
    return draw_probe_figure(study, out_dir, "l2", "figure4_l2",
                             "Figure 4: l2 distance of weights before and after fine-tuning, per module",
                             "mean ||W_init - W_best||_F / numel", log_scale=True)


def figure5_reinit(study, out_dir):
    return draw_probe_figure(study, out_dir, "reinit", "figure5_reinit",
                             "Figure 5: re-initialisation robustness (module reset to its initial weights; "
                             "dashed: not reset)", study.metric_name(), baseline=True)


def figure6_knn(study, out_dir):
    return draw_probe_figure(study, out_dir, "knn", "figure6_knn",
                             f"Figure 6: layer-wise k-NN (feature per probe: first of {', '.join(KNN_FEATURES)})",
                             f"k-NN {study.metric_name()}")


# ---- Figure 6 (bottom): the best k-NN score per WT-ST depth --------------------------------


def knn_maxima(study):
    """Figure 6 (bottom)'s data: each k-NN-analysed cell on a WT-ST sweep with its highest k-NN target
    over the probes (each probe's value as Figure 6's top row reads it) and the probe that reached it.

    Returns (frame with columns id, model, setting, init_label, depth, knn_max, best_probe; depth column).
    """
    analysed = study.analysed("knn")
    depth = require_sweep(analysed, "done 'knn' analyses of WT-ST cells (init wtst with wt_fraction or "
                                    "wt_blocks; those of ST and WT cells give a fraction sweep its ends)")
    x = sweep_positions(analysed, depth)
    cells = analysed[x.notna()]
    values = [study.store.probe_values(cell_id, "knn") for cell_id in cells["id"]]
    frame = cells[["id", "model", "setting", "init_label"]].assign(
        depth=x[x.notna()], knn_max=[v.max() for v in values], best_probe=[v.idxmax() for v in values])
    return frame.reset_index(drop=True), depth


def figure6_knn_max(study, out_dir):
    """The best k-NN target at any depth vs the WT-ST depth, mean +- std over analysed seeds, a line per
    model, a panel per setting."""
    data, depth = knn_maxima(study)
    settings = list(pd.unique(data["setting"]))
    figure, panels = panel_grid(len(settings))
    for axes, setting in zip(panels, settings):
        for model, cells in data[data["setting"] == setting].groupby("model", sort=False):
            points = cells.groupby("depth")["knn_max"].agg(["mean", "std"]).sort_index()
            errorbar_line(axes, points, model)
        axes.set_title(setting)
        axes.set_xlabel(depth_label(depth))
        axes.set_ylabel(f"max k-NN {study.metric_name()} over probes")
        legend(axes)
    figure.suptitle("Figure 6 (bottom): the best layer-wise k-NN score at any depth per WT-ST initialisation")
    return [save(figure, out_dir, "figure6_knn_max")]
