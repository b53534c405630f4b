"""Figure 2: the test target along the WT-ST sweep, per model."""

import pandas as pd

from .draw import errorbar_line, legend, panel_grid, save
from .study import depth_label, require_sweep, sweep_positions


def sweep_points(cells, depth, value="target"):
    """Mean, std and count over seeds of `value` per x of the sweep (sweep_positions), x ascending."""
    x = sweep_positions(cells, depth)
    on = x.notna()
    return cells.loc[on, value].groupby(x[on]).agg(["mean", "std", "count"]).sort_index()


# ---- Figure 2: the WT-ST sweep -------------------------------------------------------


def figure2_wtst(study, out_dir):
    """Target metric vs the WT-ST depth, a line per model, a panel per setting; ST, WT and RI (*) for reference."""
    depth = require_sweep(study.cells)
    partial = study.cells[study.cells["init"] == "wtst"]
    settings = list(pd.unique(partial["setting"]))
    figure, panels = panel_grid(len(settings))
    for axes, setting in zip(panels, settings):
        for model in pd.unique(partial[partial["setting"] == setting]["model"]):
            cells = study.cells[(study.cells["setting"] == setting) & (study.cells["model"] == model)]
            draw_sweep_line(axes, cells, depth, model)
        axes.set_title(setting)
        axes.set_xlabel(depth_label(depth))
        axes.set_ylabel(study.metric_name())
        legend(axes)
    figure.suptitle("Figure 2: which layers benefit from feature reuse (mean ± std over seeds; * = RI)")
    return [save(figure, out_dir, "figure2_wtst")]


def draw_sweep_line(axes, cells, depth, model):
    """One model's sweep (with fractions ST at 0 and WT at 1, as in the paper), RI as a star at its start."""
    points = sweep_points(cells, depth)
    colour = errorbar_line(axes, points, model)
    ri = cells[cells["init"] == "ri"]["target"]
    if not ri.empty:
        axes.plot([float(points.index.min())], [ri.mean()], marker="*", markersize=12, linestyle="none",
                  color=colour)
