"""Several stores of one study read as one (docs/store.md, "Several stores as one study").

A study too large for one allocation runs as several jobs into several
stores. `open_stores([a, b])` reads them as one `Store` does one file: every
task once by id, from the store that holds it done (else the first holding
it), and every read of a task (state_dict, curves, analyses, ...) from that
store. One id under two configs (beyond data locations, which ids ignore) is
refused: such stores are not one study.
"""

import json

import pandas as pd

from .store import Store, StoreError, UnknownCellError

# Reads that take a task id first: answered by the store chosen for that id.
PER_TASK = ("key", "kind", "axes", "config", "record", "layout", "state_dict", "curves", "test_logits",
            "test_labels", "analyses", "analysis_task", "analysis", "probe_values", "cka", "cka_cross",
            "attention_distance")
MODEL_METADATA = ("gflops", "image_size", "description")
# Recipe keys added after stores existed, and the value left out of ids (as the C++ task ids do).
RECIPE_KEYS_WITH_SILENT_DEFAULTS = {"checkpoint_dtype": "float32", "memory_format": "contiguous",
                                   "cuda_graphs": False}


def identity(config):
    """What a task id stands for: the config without data locations (as the C++ grid's identity_view)."""
    view = json.loads(json.dumps(config))
    if isinstance(view.get("weights"), dict):
        view["weights"].pop("path", None)
    if isinstance(view.get("dataset"), dict):
        for key in ("root", "cache", "split_sizes"):
            view["dataset"].pop(key, None)
    if isinstance(view.get("model"), dict):
        for key in MODEL_METADATA:
            view["model"].pop(key, None)
    if isinstance(view.get("recipe"), dict):
        for key, silent in RECIPE_KEYS_WITH_SILENT_DEFAULTS.items():
            if view["recipe"].get(key) == silent:
                view["recipe"].pop(key)
    return json.dumps(view, sort_keys=True)


def open_stores(paths):
    """Open several stores of one study read-only, as one; a single path works too."""
    return MultiStore([paths] if isinstance(paths, str) else list(paths))


class MultiStore:
    """Stores of one study read as one; use as a context manager or call close()."""

    def __init__(self, paths):
        if not paths:
            raise StoreError("open_stores: no store given")
        self.stores = []
        try:
            for path in paths:
                self.stores.append(Store(path))
            self._owner = self._choose_owners()
        except BaseException:
            self.close()
            raise
        self.path = ", ".join(s.path for s in self.stores)
        self._results = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<featreuse stores {self.path}>"

    def close(self):
        for store in self.stores:
            store.close()

    def _choose_owners(self):
        """id -> the store whose copy of the task counts (done first, then the earlier store)."""
        owner = {}
        for store in self.stores:
            for row in store.results[["id", "status"]].itertuples(index=False):
                held = owner.get(row.id)
                if held is None:
                    owner[row.id] = store
                    continue
                if identity(held.config(row.id)) != identity(store.config(row.id)):
                    raise StoreError(f"task {row.id} ({store.key(row.id)}) has one config in {held.path} and "
                                     f"another in {store.path}: these stores are not one study")
                if held.record(row.id)["status"] != "done" and row.status == "done":
                    owner[row.id] = store
        return owner

    @property
    def results(self):
        """Every task's row once (a copy), from the store chosen for it; the stores' axes united."""
        if self._results is None:
            parts = [s.results for s in self.stores]
            parts = [p[[owner is s for owner in p["id"].map(self._owner)]] for p, s in zip(parts, self.stores)]
            self._results = pd.concat(parts, ignore_index=True, sort=False)
        return self._results.copy()

    # The same selection as one store's (they read only `results`, `axis_columns` and `path`).
    axis_columns = Store.axis_columns
    cells = Store.cells

    def _record_fields(self):
        return self.stores[0]._record_fields()

    def store_of(self, cell_id):
        """The Store a task's reads come from."""
        store = self._owner.get(cell_id)
        if store is None:
            raise UnknownCellError(f"{self.path}: no task '{cell_id}' in any of these stores")
        return store

    def fid(self):
        """The stores' FID values, one row per dataset, split and reference (the first store's where several)."""
        frames = [s.fid() for s in self.stores]
        return (pd.concat(frames, ignore_index=True)
                .drop_duplicates(["dataset", "split", "reference"], keep="first")
                .sort_values(["dataset", "split", "reference"], ignore_index=True))

    def __getattr__(self, name):
        if name not in PER_TASK:
            raise AttributeError(name)

        def per_task(cell_id, *args, **kwargs):
            return getattr(self.store_of(cell_id), name)(cell_id, *args, **kwargs)

        per_task.__doc__ = getattr(Store, name).__doc__
        return per_task
