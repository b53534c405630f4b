"""Figure 1: the test target per initialisation, and the gain from transfer with its feature-reuse share."""

import pandas as pd

from .draw import legend, panel_grid, save
from .study import BASE_INITS, Skipped, init_colours, ordered_inits


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
        dots = draw_gains(axes, gains.loc[model])
        axes.set_title(model)
        axes.set_ylabel("WT / RI (mean target)")
    figure.colorbar(dots, ax=list(panels), label="(WT-ST)/WT, min-max normalised")
    figure.suptitle("Figure 1: gain from transfer (size) and feature-reuse share (colour, raw value in brackets)")
    return [save(figure, out_dir, "figure1_transfer")]


def draw_gains(axes, rows):
    """One model's settings as dots: height and size WT/RI, colour the normalised share, raw values annotated."""
    axes.axhline(1.0, color="black", linewidth=0.6, linestyle=":")
    dots = axes.scatter(range(len(rows)), rows["gain"], s=300 * rows["gain"] ** 2, c=rows["normalised"],
                        cmap="viridis", vmin=0, vmax=1, edgecolors="black")
    for x, (gain, reuse) in enumerate(zip(rows["gain"], rows["reuse"])):
        axes.annotate(f"{gain:.2f}\n({reuse:.2f})", (x, gain), textcoords="offset points", xytext=(14, -4),
                      fontsize=7)
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels(rows.index, rotation=20, ha="right", fontsize=8)
    axes.set_xlim(-0.6, len(rows) - 0.2)
    return dots
