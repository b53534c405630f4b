"""Flat checkpoints to state_dicts.

A checkpoint is one float32 vector holding every parameter and buffer in
PyTorch's state_dict() order; its layout (/layouts/<id>) says where each entry
starts, its shape and its real dtype (integer buffers such as
num_batches_tracked are stored as float32 and marked int64).
"""

import collections

import numpy as np

from .tables import frame_from_rows


def layout_frame(rows):
    """The layout as a DataFrame: name, offset, numel, shape (a tuple), kind, dtype."""
    frame = frame_from_rows(rows)
    frame["shape"] = [parse_shape(text) for text in frame["shape"]]
    return frame


def parse_shape(text):
    """'64,1,4,4' -> (64, 1, 4, 4); '' (a scalar) -> ()."""
    return tuple(int(part) for part in text.split(",") if part)


def check_layout(layout, total, where):
    """Raise ValueError naming `where` when the layout does not fit the flat vector.

    A wrong layout would otherwise give silently shifted weights.
    """
    for entry in layout.itertuples():
        if int(np.prod(entry.shape, dtype=np.int64)) != entry.numel:
            raise ValueError(f"{where}: layout entry {entry.name} has shape {entry.shape} but numel {entry.numel}")
        if entry.offset < 0 or entry.offset + entry.numel > total:
            raise ValueError(f"{where}: layout entry {entry.name} [{entry.offset}, {entry.offset + entry.numel}) "
                             f"lies outside the checkpoint's {total} values")


def unflatten(values, layout, as_numpy=False):
    """An ordered name -> array (or torch tensor) dict from a flat vector and its layout."""
    torch = None if as_numpy else optional_torch()
    state = collections.OrderedDict()
    for entry in layout.itertuples():
        array = values[entry.offset:entry.offset + entry.numel].reshape(entry.shape).astype(entry_dtype(entry))
        state[entry.name] = array if torch is None else torch.from_numpy(array)
    return state


def entry_dtype(entry):
    """The numpy dtype a layout entry names (float32, int64, ...)."""
    try:
        return np.dtype(entry.dtype)
    except TypeError as error:
        raise ValueError(f"layout entry {entry.name}: unknown dtype '{entry.dtype}'") from error


def optional_torch():
    """torch when it imports, else None: the reader must work without it."""
    try:
        import torch
    except ImportError:
        return None
    return torch
