"""Appendix E: mean attention distance per head and block of ViT cells, initial and fine-tuned."""

import pandas as pd

from .draw import legend, panel_grid, probe_axis, save
from .study import Skipped, init_colours, ordered_inits


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
