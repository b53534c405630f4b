"""Drawing helpers shared by the figures: panel grids, saving, seed statistics, axes and legends."""

import math
import os
import re

import pandas as pd
from matplotlib.figure import Figure

DPI = 110
MIN_WIDTH = 7.5  # inches: room for a figure's title above a single panel
HEATMAP_MIN_WIDTH = 5.0  # heatmaps keep their aspect: wider would only add margins


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


def errorbar_line(axes, points, label, colour=None):
    """A line through `points` (index: x; columns mean, std) with std error bars; returns its colour."""
    line = axes.errorbar(points.index.astype(float), points["mean"], yerr=points["std"].fillna(0), marker="o",
                         capsize=3, label=label, color=colour)
    return line[0].get_color()
