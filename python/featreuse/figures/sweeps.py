"""Figures 2 and 7: the test target along the WT-ST sweep, per model (2) and per model size in a family (7)."""

import matplotlib
import pandas as pd

from .draw import errorbar_line, legend, panel_grid, save
from .study import Skipped, depth_label, require_sweep, sweep_positions

# A colour map per architecture family in Figure 7; a model's shade deepens with its size.
FAMILY_MAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys")


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


# ---- Figure 7: weight transfer vs model capacity ---------------------------------------------


def model_sizes(study, models):
    """Per model: its architecture (the family) and parameter count (from a done cell's config and
    checkpoint layout), families in first-seen order, models by size within each."""
    rows = []
    for model in models:
        cell_id = study.cells.loc[study.cells["model"] == model, "id"].iloc[0]
        layout = study.store.layout(cell_id, "best")
        rows.append({"model": model, "family": study.store.config(cell_id)["model"]["arch"],
                     "parameters": int(layout.loc[layout["kind"] == "parameter", "numel"].sum())})
    sizes = pd.DataFrame(rows, columns=["model", "family", "parameters"])
    order = {family: i for i, family in enumerate(pd.unique(sizes["family"]))}
    return sizes.sort_values(["family", "parameters"], key=lambda c: c.map(order) if c.name == "family" else c,
                             kind="stable").reset_index(drop=True)


def capacity_sweeps(study):
    """Figure 7's data: per family, model and setting, the test target per WT-ST depth (mean, std, count).

    Returns (long frame with columns family, model, parameters, setting, depth, mean, std, count; depth column).
    """
    depth = require_sweep(study.cells, "done WT-ST cells (init wtst with wt_fraction or wt_blocks) "
                                       "of at least two models of one architecture")
    sizes = model_sizes(study, pd.unique(study.cells.loc[study.cells["init"] == "wtst", "model"]))
    if not (sizes.groupby("family").size() > 1).any():
        have = ", ".join(f"{m} ({f})" for m, f in zip(sizes["model"], sizes["family"]))
        raise Skipped("needs done WT-ST cells of at least two models of one architecture "
                      f"(models with WT-ST cells here: {have})")
    frames = []
    for size in sizes.itertuples(index=False):
        for setting, cells in study.cells[study.cells["model"] == size.model].groupby("setting", sort=False):
            points = sweep_points(cells, depth).rename_axis("depth").reset_index()
            frames.append(points.assign(family=size.family, model=size.model, parameters=size.parameters,
                                        setting=setting))
    columns = ["family", "model", "parameters", "setting", "depth", "mean", "std", "count"]
    return pd.concat(frames, ignore_index=True)[columns], depth


def figure7_capacity(study, out_dir):
    """Target vs WT-ST depth, a panel per architecture family (rows) and setting (columns), a line per size."""
    data, depth = capacity_sweeps(study)
    families = list(pd.unique(data["family"]))
    settings = [s for s in pd.unique(study.cells["setting"]) if s in set(data["setting"])]
    figure, panels = panel_grid(len(families) * len(settings), width=4.2, height=3.2, columns=len(settings))
    for f, family in enumerate(families):
        rows = data[data["family"] == family]
        colours = size_colours(rows, FAMILY_MAPS[f % len(FAMILY_MAPS)])
        for s, setting in enumerate(settings):
            axes = panels[f * len(settings) + s]
            for model, points in rows[rows["setting"] == setting].groupby("model", sort=False):
                label = f"{model} ({parameter_count(points['parameters'].iloc[0])})"
                errorbar_line(axes, points.set_index("depth"), label, colours[model])
            axes.set_title(f"{family}: {setting}", fontsize=9)
            axes.set_xlabel(depth_label(depth))
            axes.set_ylabel(study.metric_name())
            legend(axes)
    figure.suptitle("Figure 7: weight transfer vs model capacity, WT-ST initialisation\n"
                    "a row per architecture, darker = more parameters; mean ± std over seeds", fontsize=10)
    return [save(figure, out_dir, "figure7_capacity")]


def size_colours(rows, cmap):
    """model -> a shade of `cmap`, light for the smallest model of the family, dark for the largest."""
    models = list(pd.unique(rows["model"]))
    shades = matplotlib.colormaps[cmap]
    step = 0.5 / max(len(models) - 1, 1)
    return {m: shades(0.45 + step * i if len(models) > 1 else 0.75) for i, m in enumerate(models)}


def parameter_count(count):
    """12345 -> '12.3k', 22050664 -> '22.1M'."""
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= scale:
            return f"{count / scale:.1f}{unit}"
    return str(int(count))
