"""Figure 3: CKA heatmaps between layers, per init and pair, and of transfer cells vs their ST partners."""

import textwrap

import pandas as pd
from matplotlib.figure import Figure

from .draw import HEATMAP_MIN_WIDTH, save
from .study import Skipped, ordered_inits


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
