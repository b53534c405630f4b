"""The paper's figures from a featreuse store.

    python3 -m featreuse.figures STORE.h5 --out DIR [--where model=resnet_small ...]

Each figure is drawn from whatever done cells the store (or the --where
selection) holds, grouped by setting (model, dataset, train_size and any other
axis but the initialisation and the seed), with means +- sample std over seeds
as `featreuse report` prints them. A figure whose cells or analyses are absent
is skipped with a line naming what it needs, so one script serves the demo, a
partial study and the paper's full grid.

Figure numbers are the paper's: 1 (transfer gains), 2 (WT-ST sweep), 3 (CKA),
4 (l2 drift), 5 (re-initialisation), 6 (layer-wise k-NN), 8 (validation
curves) and App. E (attention distance). Drawn with matplotlib's object API on
the Agg canvas: no pyplot state, no display needed.

Modules, one figure group each: study (cells, labels, WT-ST depths), draw
(shared helpers), targets (1), sweeps (2), cka (3), probes (4-6), curves (8),
attention (App. E), cli (the command).
"""

from .cli import FIGURES, draw_all, main, parse_where
from .study import Skipped, Study

__all__ = ["FIGURES", "draw_all", "main", "parse_where", "Skipped", "Study"]
