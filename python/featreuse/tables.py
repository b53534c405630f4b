"""Compound HDF5 rows to pandas.

The store writes fixed-length byte strings (parallel HDF5 cannot write
variable-length data independently), so every text column arrives as bytes;
these helpers decode them once, here, so no caller ever sees bytes.
"""

import json

import numpy as np
import pandas as pd


def decode_text(values):
    """UTF-8 strings (an object array) from a fixed-length bytes array."""
    return np.char.decode(np.asarray(values), "utf-8").astype(object)


def frame_from_rows(rows):
    """A DataFrame from a compound numpy array, text columns decoded."""
    columns = {}
    for name in rows.dtype.names:
        column = rows[name]
        columns[name] = decode_text(column) if column.dtype.kind == "S" else column
    return pd.DataFrame(columns, columns=list(rows.dtype.names))


def scalar_text(dataset):
    """The text of a scalar string dataset (key, kind, config, axes)."""
    value = dataset[()]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def text(value):
    """An attribute's text: h5py gives fixed-length strings as bytes."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def record_dict(row):
    """A compound scalar (a task's record) as a dict of plain Python values."""
    out = {}
    for name in row.dtype.names:
        value = row[name]
        out[name] = value.decode("utf-8") if isinstance(value, bytes) else value.item()
    return out


def text_columns(dataset, frame):
    """An analysis table's key columns: those its `columns` attribute types as text.

    Falls back to the decoded frame's object columns for a table without the
    attribute, so an older store still gets labelled rows.
    """
    spec = dataset.attrs.get("columns")
    if spec is None:
        return [c for c in frame.columns if frame[c].dtype == object]
    if isinstance(spec, bytes):
        spec = spec.decode("utf-8")
    return [name for name, kind, _ in json.loads(spec) if kind == "str"]


def labelled_table(dataset):
    """An analysis table indexed by its text key columns (probe, feature, pair, ...), in stored order."""
    frame = frame_from_rows(dataset[()])
    keys = text_columns(dataset, frame)
    return frame.set_index(keys) if keys else frame


def square(frame, row, column, value):
    """A row x column matrix of `value` from long rows, keeping the labels' first-seen order.

    CKA tables list probes in depth order; pivot alone would sort them by name.
    """
    rows = pd.unique(frame[row])
    columns = pd.unique(frame[column])
    matrix = frame.pivot(index=row, columns=column, values=value).reindex(index=rows, columns=columns)
    matrix.index.name, matrix.columns.name = row, column
    return matrix
