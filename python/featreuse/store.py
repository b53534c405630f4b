"""A read-only view of a featreuse study store.

The store's layout is documented in the repository's docs/store.md; this module
hides its HDF5 details (fixed-length bytes, flat checkpoints, soft links from
cells to their analyses, preallocated rows) behind pandas, numpy and torch.
"""

import json
import os

import h5py
import numpy as np
import pandas as pd

from . import checkpoints, tables

FORMAT = "featreuse-store"
SCHEMA_VERSION = 1
CHECKPOINTS = ("initial", "best")
CURVES = ("train", "val")
# Columns of /results that are neither axes nor record fields.
IDENTITY_COLUMNS = ("id", "kind", "key")
# The number each layer-wise analysis reports per probe unless told otherwise.
PROBE_VALUES = {"knn": "target", "reinit": "target", "l2": "mean_scaled"}
# k-NN probes can have several features; the one that stands for the probe is
# the first of these it has: a ViT block's class token (what the head sees), a
# CNN map's spatial mean, the head's logits as they are.
KNN_FEATURES = ("cls", "mean", "as is")


class StoreError(Exception):
    """A store, task or dataset that cannot be read as asked; the message names the file and the task."""


class NotAStoreError(StoreError):
    """The file is not a featreuse store (not HDF5, or another HDF5 file)."""


class UnknownCellError(StoreError, KeyError):
    """No task with that id in the store."""

    def __str__(self):
        # KeyError would print the message in quotes.
        return str(self.args[0])


class MissingDataError(StoreError):
    """The task exists but lacks what was asked: not done, no such checkpoint, analysis or table."""


def open_store(path):
    """Open a store read-only (without HDF5 file locking, so a running job is not disturbed)."""
    return Store(path)


def open_hdf5(path):
    """The HDF5 file at `path`, or a NotAStoreError that says why it cannot be one."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as error:
        raise NotAStoreError(f"{path}: not an HDF5 file, so not a featreuse store ({error})") from error


def check_format(file, path):
    """Raise unless the root attributes say this is a store of a schema this reader knows."""
    found = file.attrs.get("format")
    found = found.decode("utf-8") if isinstance(found, bytes) else found
    if found != FORMAT:
        raise NotAStoreError(f"{path}: not a featreuse store (root attribute 'format' is {found!r}, "
                             f"expected '{FORMAT}')")
    version = int(file.attrs.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema {version} is newer than this reader's {SCHEMA_VERSION}; "
                         "update the featreuse Python package")


class Store:
    """One store, opened read-only; use as a context manager or call close()."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.file = open_hdf5(self.path)
        try:
            check_format(self.file, self.path)
        except StoreError:
            self.file.close()
            raise
        self._results = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<featreuse store {self.path}>"

    def close(self):
        self.file.close()

    # ---- the results table -------------------------------------------------

    @property
    def results(self):
        """Every task's row (a copy): id, kind, key, the axes (typed), then the record fields.

        Text is decoded; a text axis that does not apply to a task is None; an
        integer axis that some tasks lack (train_size of a source) is pandas'
        nullable Int64 rather than the float the file needs to store NaN.
        """
        if self._results is None:
            self._results = self._read_results()
        return self._results.copy()

    def axis_columns(self):
        """The axes the store records (model, dataset, init, seed, ...), in the table's order."""
        columns = list(self.results.columns)
        fields = set(self._record_fields())
        return [c for c in columns if c not in IDENTITY_COLUMNS and c not in fields]

    def cells(self, kind="cell", where=None, **axes):
        """Rows of `results` of one kind (None: all) whose axes match, e.g. cells(model="tiny", init=["ri", "wt"]).

        `where` takes axes whose names are not Python identifiers ({"init.wt_blocks": 3}).
        A value may be a list of accepted values; None matches tasks the axis does not apply to.
        """
        frame = self.results
        wanted = dict(where or {}, **axes)
        unknown = sorted(set(wanted) - set(self.axis_columns()))
        if unknown:
            raise StoreError(f"{self.path}: no axis {', '.join(unknown)} (axes: {', '.join(self.axis_columns())})")
        keep = np.ones(len(frame), dtype=bool) if kind is None else (frame["kind"] == kind).to_numpy()
        for name, accepted in wanted.items():
            keep &= matches(frame[name], accepted)
        return frame[keep].reset_index(drop=True)

    def _read_results(self):
        if "results" not in self.file:
            raise StoreError(f"{self.path}: no /results table")
        frame = tables.frame_from_rows(self.file["results"][()])
        fields = set(self._record_fields())
        axes = [c for c in frame.columns if c not in IDENTITY_COLUMNS and c not in fields]
        whole = self._integer_axes(frame, axes)
        for name in axes:
            frame[name] = typed_axis(frame[name], name in whole)
        return frame

    def _record_fields(self):
        """The record's field names, from any task's record (every record has the same type)."""
        for group in self.file.get("cells", {}).values():
            if "record" in group:
                return list(group["record"].dtype.names)
        return []

    def _integer_axes(self, frame, axes):
        """Float axis columns whose values are all integers in the tasks' axes JSON.

        The file stores an integer axis as float when a task lacks it (NaN); the
        JSON keeps the real type, so only it can tell 250 from 250.0.
        """
        floats = [a for a in axes if frame[a].dtype.kind == "f"]
        if not floats:
            return set()
        seen = {a: [] for a in floats}
        for cell_id in frame["id"]:
            values = self.axes(cell_id)
            for a in floats:
                if values.get(a) is not None:
                    seen[a].append(values[a])
        return {a for a, values in seen.items()
                if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values)}

    # ---- one task ----------------------------------------------------------

    def _group(self, cell_id):
        cell_id = cell_id.decode("utf-8") if isinstance(cell_id, bytes) else str(cell_id)
        cells = self.file.get("cells")
        if cells is None or "/" in cell_id or cell_id in ("", ".", "..") or cell_id not in cells:
            count = 0 if cells is None else len(cells)
            raise UnknownCellError(f"{self.path}: no task '{cell_id}' in /cells ({count} tasks; "
                                   "their ids are the results table's 'id' column)")
        return cells[cell_id]

    def _text(self, cell_id, name):
        group = self._group(cell_id)
        if name not in group:
            raise MissingDataError(f"{self.path}: task {cell_id} has no '{name}'")
        return tables.scalar_text(group[name])

    def key(self, cell_id):
        """The task's coordinates as text (model=... dataset=... init=... seed=...)."""
        return self._text(cell_id, "key")

    def kind(self, cell_id):
        """source, import, st, cell or analysis."""
        return self._text(cell_id, "kind")

    def axes(self, cell_id):
        """The task's axis values as a dict (None where an axis does not apply)."""
        return json.loads(self._text(cell_id, "axes"))

    def config(self, cell_id):
        """The task's fully resolved config (model, dataset, recipe, init, ...) as a dict."""
        return json.loads(self._text(cell_id, "config"))

    def record(self, cell_id):
        """The task's record, the source of truth for its status: status, attempts, times, test metrics."""
        group = self._group(cell_id)
        if "record" not in group:
            raise MissingDataError(f"{self.path}: task {cell_id} has no record")
        return tables.record_dict(group["record"][()])

    def _where(self, cell_id):
        """How messages name a task: the file, its id and its key."""
        return f"{self.path}: {self.kind(cell_id)} {cell_id} ({self.key(cell_id)})"

    def _require_done(self, cell_id, what):
        """Raise unless the task is done: before that its datasets are allocated but unwritten."""
        status = self.record(cell_id)["status"]
        if status != "done":
            raise MissingDataError(f"{self._where(cell_id)} is {status}, so its {what} is not written; "
                                   "pass require_done=False to read the file's bytes anyway")

    def _dataset(self, cell_id, path, what):
        group = self._group(cell_id)
        if path not in group:
            hint = ("analysis tasks hold only their tables" if self.kind(cell_id) == "analysis"
                    else "a task whose setup failed has only its config, key, axes and record")
            raise MissingDataError(f"{self._where(cell_id)} has no {what} ('{path}'; {hint})")
        return group[path]

    # ---- checkpoints -------------------------------------------------------

    def layout(self, cell_id, which="best"):
        """The checkpoint's layout: name, offset, numel, shape, kind (parameter/buffer), dtype per entry."""
        return checkpoints.layout_frame(self._layout_dataset(cell_id, which)[()])

    def _checkpoint(self, cell_id, which):
        if which not in CHECKPOINTS:
            raise ValueError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, not {which!r}")
        return self._dataset(cell_id, f"checkpoints/{which}", f"checkpoint '{which}'")

    def _layout_dataset(self, cell_id, which):
        flat = self._checkpoint(cell_id, which)
        path = flat.attrs.get("layout")
        path = path.decode("utf-8") if isinstance(path, bytes) else path
        if not path or path not in self.file:
            raise MissingDataError(f"{self._where(cell_id)}: checkpoint '{which}' names layout {path!r}, "
                                   "which the store does not have")
        return self.file[path]

    def state_dict(self, cell_id, which="best", as_numpy=False, require_done=True):
        """The `initial` or `best` weights as name -> torch tensor (numpy arrays without torch or with as_numpy).

        Names, order and dtypes are the model's state_dict()'s (torchvision/timm
        names for the paper's architectures), so the result loads strictly.
        """
        flat = self._checkpoint(cell_id, which)
        if require_done:
            self._require_done(cell_id, f"checkpoint '{which}'")
        layout = self.layout(cell_id, which)
        try:
            values = checkpoints.full_values(self.file, flat, layout)
            checkpoints.check_layout(layout, values.shape[0], f"checkpoint '{which}'")
        except ValueError as error:
            raise StoreError(f"{self._where(cell_id)}: {error}") from error
        return checkpoints.unflatten(values, layout, as_numpy=as_numpy)

    # ---- training outputs --------------------------------------------------

    def curves(self, cell_id, split="val", require_done=True):
        """The training (`train`: iteration, epoch, loss, lr) or validation (`val`: + target, metrics) curve.

        Only the points written: the file preallocates rows for the most points
        a task can produce and marks the unused ones with iteration -1.
        """
        if split not in CURVES:
            raise ValueError(f"curve must be one of {', '.join(CURVES)}, not {split!r}")
        dataset = self._dataset(cell_id, f"curves/{split}", f"{split} curve")
        if require_done:
            self._require_done(cell_id, f"{split} curve")
        frame = tables.frame_from_rows(dataset[()])
        return frame[frame["iteration"] >= 0].reset_index(drop=True)

    def test_logits(self, cell_id, require_done=True):
        """Test-split logits of the best-validation model, [images, classes]."""
        return self._test_array(cell_id, "logits", require_done)

    def test_labels(self, cell_id, require_done=True):
        """Test labels in the logits' order: class indices, or [images, classes] for multi-label data."""
        return self._test_array(cell_id, "labels", require_done)

    def _test_array(self, cell_id, name, require_done):
        dataset = self._dataset(cell_id, f"test/{name}", f"test {name}")
        if require_done:
            self._require_done(cell_id, f"test {name}")
        return dataset[()]

    # ---- analyses ----------------------------------------------------------

    def analyses(self, cell_id):
        """The analyses of a cell (knn, reinit, l2, cka, cka_cross, attention_distance...).

        Only those that analyse this cell: the ST partner of a cka_cross also
        links to it (to the last transfer cell's), but the table's rows are the
        transfer cell's probes, so it is that cell's analysis. For an analysis
        task's own id: its one analysis.
        """
        if self.kind(cell_id) == "analysis":
            return [self.axes(cell_id)["analysis"]]
        group = self._group(cell_id)
        if "analysis" not in group:
            return []
        return sorted(name for name in group["analysis"]
                      if self._analysed_cell(self._link_owner(group["analysis"], name)) in (cell_id, None))

    def analysis_task(self, cell_id, name):
        """The id of the analysis task that analysed the cell with `name`; its config's `cells` lists
        the analysed cells (for cka_cross: the transfer cell, then its ST partner)."""
        return self._analysis_group(cell_id, name)[1]

    def _link_owner(self, links, name):
        """The analysis task a cell's link points to (/cells/<task>/analysis)."""
        link = links.get(name, getlink=True)
        return link.path.strip("/").split("/")[1] if isinstance(link, h5py.SoftLink) else None

    def _analysed_cell(self, task_id):
        """The (first) cell an analysis task analysed, from its config; None when unknown."""
        if task_id is None or task_id not in self.file["cells"]:
            return None
        return (self.config(task_id).get("cells") or [None])[0]

    def _analysis_group(self, cell_id, name):
        """(the HDF5 group holding the analysis' tables, the id of the analysis task that wrote them)."""
        names = self.analyses(cell_id)
        if name not in names:
            raise MissingDataError(f"{self._where(cell_id)} has no analysis '{name}' "
                                   f"(it has: {', '.join(names) or 'none'})")
        group = self._group(cell_id)["analysis"]
        if self.kind(cell_id) == "analysis":
            return group, cell_id
        return group[name], self._link_owner(group, name) or cell_id

    def analysis(self, cell_id, name, table=None, require_done=True):
        """An analysis table as a DataFrame indexed by its text columns (probe; probe, feature; pair, view, ...).

        `cell_id` is the analysed cell (its link is followed) or the analysis
        task itself; `table` defaults to the analysis' own table.
        """
        group, owner = self._analysis_group(cell_id, name)
        if require_done:
            self._require_done(owner, f"'{name}' table")
        table = table or name
        if table not in group:
            raise MissingDataError(f"{self._where(owner)}: analysis '{name}' has no table '{table}' "
                                   f"(it has: {', '.join(group.keys())})")
        return tables.labelled_table(group[table])

    def probe_values(self, cell_id, name, value=None, features=KNN_FEATURES):
        """One number per probe, in depth order, as a Series indexed by probe name.

        knn and reinit give the test target metric, l2 the mean scaled drift
        (`value` picks another column). For knn, `features` says which feature
        stands for a probe that has several (the first it has; else its first).
        """
        table = self.analysis(cell_id, name)
        value = value or PROBE_VALUES.get(name)
        if value not in table.columns:
            raise ValueError(f"analysis '{name}' has no value column {value!r} (it has: {', '.join(table.columns)})")
        if "feature" in table.index.names:
            table = one_feature_per_probe(table, (features,) if isinstance(features, str) else features)
        series = table[value]
        series.index = series.index.get_level_values("probe")
        return series

    def cka(self, cell_id, pair="trained_init", view="all", estimator="reference", analysis="cka"):
        """A CKA matrix (rows: the pair's first network's probes, columns: the second's), probe names as labels.

        Pairs: init_init, trained_init, trained_trained (cka); trained_partner
        (cka_cross). Views: all, and cls / patches for probes with a class token.
        """
        long = self.analysis(cell_id, analysis).reset_index()
        if estimator not in ("reference", "minibatch"):
            raise ValueError(f"estimator must be 'reference' or 'minibatch', not {estimator!r}")
        chosen = long[(long["pair"] == pair) & (long["view"] == view)]
        if chosen.empty:
            raise MissingDataError(f"{self._where(cell_id)}: '{analysis}' has no pair '{pair}' with view '{view}' "
                                   f"(pairs: {', '.join(pd.unique(long['pair']))}; "
                                   f"views: {', '.join(pd.unique(long['view']))})")
        return tables.square(chosen, "row", "col", estimator)

    def cka_cross(self, cell_id, view="all", estimator="reference"):
        """CKA of a transfer cell (rows) against its ST partner (columns), both fine-tuned."""
        return self.cka(cell_id, pair="trained_partner", view=view, estimator=estimator, analysis="cka_cross")

    # ---- dataset-level values ------------------------------------------------

    def fid(self):
        """The FID values `featreuse fid --store` kept (Table 1's header), a row each, by dataset, split, reference.

        Columns: dataset, split, reference, fid, images, reference_images (pandas
        Int64, missing where a side was given as statistics without a count),
        weights, written. Empty (with these columns) when the store keeps none.
        """
        columns = ["dataset", "split", "reference", "fid", "images", "reference_images", "weights", "written"]
        rows = []
        for group in (self.file["fid"].values() if "fid" in self.file else []):
            a = group.attrs
            text = tables.text
            rows.append([text(a["dataset"]), text(a["split"]), text(a["reference"]), float(a["value"]),
                         int(a["images"]) or None, int(a["reference_images"]) or None, text(a["weights"]),
                         text(a["written"])])
        frame = pd.DataFrame(rows, columns=columns)
        frame = frame.astype({"fid": float, "images": "Int64", "reference_images": "Int64"})
        return frame.sort_values(["dataset", "split", "reference"], ignore_index=True)

    def attention_distance(self, cell_id, checkpoint="best"):
        """Mean attention distance in input pixels, blocks (depth order) x heads, of the `initial` or `best` weights."""
        long = self.analysis(cell_id, "attention_distance").reset_index()
        chosen = long[long["checkpoint"] == checkpoint]
        if chosen.empty:
            raise MissingDataError(f"{self._where(cell_id)}: attention_distance has no checkpoint '{checkpoint}' "
                                   f"(it has: {', '.join(pd.unique(long['checkpoint']))})")
        chosen = chosen.assign(head=chosen["head"].astype(int))
        return tables.square(chosen, "block", "head", "distance")


def typed_axis(column, whole):
    """An axis column as the tasks' axes JSON types it: None for missing text, Int64 for integers with gaps."""
    if column.dtype == object:
        return column.where(column != "", None)
    if whole:
        return column.astype("Int64")
    return column


def matches(column, accepted):
    """A boolean mask of the column's values that are `accepted` (a value, None or a list of them)."""
    values = accepted if isinstance(accepted, (list, tuple, set)) else [accepted]
    mask = np.zeros(len(column), dtype=bool)
    for value in values:
        mask |= column.isna().to_numpy() if value is None else (column == value).fillna(False).to_numpy(dtype=bool)
    return mask


def one_feature_per_probe(table, features):
    """k-NN rows reduced to one feature per probe, in probe order (see KNN_FEATURES)."""
    keep = []
    for probe in pd.unique(table.index.get_level_values("probe")):
        available = list(table.loc[probe].index)
        chosen = next((f for f in features if f in available), available[0])
        keep.append((probe, chosen))
    return table.loc[keep]
