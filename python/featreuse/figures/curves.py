"""Figure 8 (left): validation curves per init."""

import pandas as pd

from .draw import legend, panel_grid, save
from .study import Skipped, init_colours, ordered_inits


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
