"""The paper's figures from a featreuse store.

    python3 -m featreuse.figures STORE.h5 --out DIR [--where model=resnet_small ...]

Each figure is drawn from whatever done cells the store (or the --where
selection) holds, grouped by setting (model, dataset, train_size and any other
axis but the initialisation and the seed), with means +- sample std over seeds
as `featreuse report` prints them. A figure whose cells or analyses are absent
is skipped with a line naming what it needs, so one script serves the demo, a
partial study and the paper's full grid.

Figure numbers are the paper's: 1 (transfer gains), 2 (WT-ST sweep), 3 (CKA),
4 (l2 drift), 5 (re-initialisation), 6 (layer-wise k-NN; bottom: the best k-NN
score per WT-ST depth), 7 (WT-ST sweep per model size), 8 (validation curves;
right: convergence speed-up per WT-ST depth) and App. E (attention distance).
Drawn with matplotlib's object API on the Agg canvas: no pyplot state, no
display needed.

Modules, one figure group each: study (cells, labels, WT-ST depths), draw
(shared helpers), targets (1), sweeps (2, 7), cka (3), probes (4-6), curves
(8), attention (App. E), cli (the command). knn_maxima, capacity_sweeps and
convergence_speedups return the data Figures 6 (bottom), 7 and 8 (right) plot.
"""

from .cli import FIGURES, draw_all, main, parse_where
from .curves import CONVERGED, convergence_speedups, steps_to
from .probes import knn_maxima
from .study import Skipped, Study
from .sweeps import capacity_sweeps, model_sizes

__all__ = ["FIGURES", "draw_all", "main", "parse_where", "Skipped", "Study", "knn_maxima", "capacity_sweeps",
           "model_sizes", "convergence_speedups", "steps_to", "CONVERGED"]
