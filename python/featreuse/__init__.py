"""Read featreuse study stores from Python.

    import featreuse
    with featreuse.open_store("demo.h5") as s:
        s.results                      # one row per task, decoded and typed
        s.state_dict(cell_id, "best")  # torch tensors (numpy without torch)
        s.probe_values(cell_id, "knn") # k-NN target per probe

`python3 -m featreuse.figures STORE --out DIR` draws the paper's figures
(needs matplotlib).
"""

from .store import (CHECKPOINTS, KNN_FEATURES, MissingDataError, NotAStoreError, Store, StoreError,
                    UnknownCellError, open_store)

__version__ = "0.1.0"

__all__ = ["open_store", "Store", "StoreError", "NotAStoreError", "UnknownCellError", "MissingDataError",
           "CHECKPOINTS", "KNN_FEATURES", "__version__"]
