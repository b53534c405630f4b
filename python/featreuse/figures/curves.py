"""Figure 8: validation curves per init (left) and the convergence speed-up per WT-ST depth (right)."""

import pandas as pd

from .draw import legend, panel_grid, save
from .study import Skipped, depth_label, init_colours, ordered_inits, require_sweep, sweep_positions

# Converged: the validation target first reaches this share of its final value (featreuse report's "to 95%").
CONVERGED = 0.95


# ---- Figure 8 (left): validation curves ------------------------------------------------------


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


# ---- Figure 8 (right): convergence speed-up ----------------------------------------------------


def steps_to(curve, share=CONVERGED):
    """Training steps (iterations) until the validation target first reaches `share` of the curve's last
    value, as `featreuse report` counts them; NaN for an empty curve or a last value that is not positive."""
    if curve.empty or not curve["target"].iloc[-1] > 0:
        return float("nan")
    reached = curve[curve["target"] >= share * curve["target"].iloc[-1]]
    return float(reached["iteration"].iloc[0])


def group_speedups(store, group, depth, share):
    """One model and setting's speed-ups: RI's mean steps over each sweep depth's mean steps; None without
    RI cells or WT-ST cells whose curves converge."""
    steps = pd.Series([steps_to(store.curves(i, "val"), share) for i in group["id"]], index=group.index)
    ri_steps = steps[(group["init"] == "ri").to_numpy()].mean()
    x = sweep_positions(group, depth)
    on = x.notna() & steps.notna()
    if pd.isna(ri_steps) or not (on & (group["init"] == "wtst")).any():
        return None
    per_depth = steps[on].groupby(x[on]).agg(["mean", "count"]).sort_index()
    return pd.DataFrame({"depth": per_depth.index, "steps": per_depth["mean"].to_numpy(),
                         "count": per_depth["count"].to_numpy(), "ri_steps": ri_steps,
                         "speedup": ri_steps / per_depth["mean"].to_numpy()})


def convergence_speedups(study, share=CONVERGED):
    """Figure 8 (right)'s data: per model, setting and WT-ST depth (ST at 0 and WT at 1 with fractions),
    speedup = mean steps to `share` of RI's cells / mean steps to `share` of the depth's cells (means over
    seeds; steps as steps_to counts them).

    Returns (frame with columns model, setting, depth, steps, count, ri_steps, speedup; depth column).
    """
    needs = ("done RI and WT-ST cells (init wtst with wt_fraction or wt_blocks) of the same setting with "
             f"validation curves: the speed-up is RI's steps to {share:.0%} of the final validation target "
             "over each depth's")
    depth = require_sweep(study.cells, needs)
    frames = []
    for model, setting, group in study.groups():
        speedups = group_speedups(study.store, group, depth, share)
        if speedups is not None:
            frames.append(speedups.assign(model=model, setting=setting))
    if not frames:
        have = ", ".join(ordered_inits(study.cells["init_label"]))
        raise Skipped(f"needs {needs} (inits here: {have})")
    columns = ["model", "setting", "depth", "steps", "count", "ri_steps", "speedup"]
    return pd.concat(frames, ignore_index=True)[columns], depth


def figure8_speedup(study, out_dir):
    """The convergence speed-up over RI vs the WT-ST depth, a line per model, a panel per setting."""
    data, depth = convergence_speedups(study)
    settings = list(pd.unique(data["setting"]))
    figure, panels = panel_grid(len(settings))
    for axes, setting in zip(panels, settings):
        axes.axhline(1.0, color="black", linewidth=0.6, linestyle=":")
        for model, rows in data[data["setting"] == setting].groupby("model", sort=False):
            axes.plot(rows["depth"], rows["speedup"], marker="o", label=model)
        axes.set_title(setting)
        axes.set_xlabel(depth_label(depth))
        axes.set_ylabel("speed-up over RI (steps RI / steps)")
        legend(axes)
    figure.suptitle("Figure 8 (right): convergence speed-up over RI per WT-ST depth (dotted: RI)\n"
                    f"mean steps until the validation target first reaches {CONVERGED:.0%} of its final value, "
                    "RI's / each depth's", fontsize=10)
    return [save(figure, out_dir, "figure8_speedup")]
