"""Figures 4-6: layer-wise analyses, one number per probe (l2 drift, re-initialisation, k-NN)."""

import numpy as np

from ..store import KNN_FEATURES
from .draw import legend, mean_std, panel_grid, probe_axis, save
from .study import Skipped, init_colours, ordered_inits


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
