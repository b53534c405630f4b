"""Read featreuse study stores from Python.

    import featreuse
    with featreuse.open_store("demo.h5") as s:
        s.results                      # one row per task, decoded and typed
        s.state_dict(cell_id, "best")  # torch tensors (numpy without torch)
        s.probe_values(cell_id, "knn") # k-NN target per probe

Several stores of one study: `featreuse.open_stores(["a.h5", "b.h5"])`, the
same reads. `python3 -m featreuse.figures STORE [STORE...] --out DIR` draws the paper's figures
(needs matplotlib).
"""

from .store import (CHECKPOINTS, KNN_FEATURES, MissingDataError, NotAStoreError, Store, StoreError,
                    UnknownCellError, open_store)
from .stores import MultiStore, open_stores

__version__ = "0.1.0"

__all__ = ["open_store", "Store", "open_stores", "MultiStore", "StoreError", "NotAStoreError", "UnknownCellError", "MissingDataError",
           "CHECKPOINTS", "KNN_FEATURES", "__version__"]
