"""Flat checkpoints to state_dicts.

A checkpoint is one float32 vector holding every parameter and buffer in
PyTorch's state_dict() order; its layout (/layouts/<id>) says where each entry
starts, its shape and its real dtype (integer buffers such as
num_batches_tracked are stored as float32 and marked int64).

A transfer cell's `initial` keeps only the entries it does not share with the
checkpoint its init copied them from: `<checkpoint>_shared` lists the others
(name, and the path of the checkpoint holding the same entry), and
full_values() puts them back.
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


def decoded(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def stored_layout(file, dataset):
    """The layout frame of a checkpoint dataset (its `layout` attribute names it)."""
    path = decoded(dataset.attrs.get("layout"))
    if not path or path not in file:
        raise ValueError(f"{dataset.name} names layout {path!r}, which the store does not have")
    return layout_frame(file[path][()])


def full_values(file, dataset, layout):
    """Every value of a checkpoint dataset, float32, in its layout's order, shared entries included."""
    shared_path = dataset.name + "_shared"
    if shared_path not in file:
        return dataset[()].astype(np.float32, copy=False)
    shared = {decoded(row["name"]): decoded(row["from"]) for row in file[shared_path][()]}
    own = dataset[()].astype(np.float32, copy=False)
    values = np.empty(int(layout["numel"].sum()), dtype=np.float32)
    bases, used = {}, 0
    for entry in layout.itertuples():
        target = values[entry.offset:entry.offset + entry.numel]
        if entry.name not in shared:
            if used + entry.numel > own.shape[0]:
                raise ValueError(f"{dataset.name} holds {own.shape[0]} values, fewer than its layout's own entries")
            target[:] = own[used:used + entry.numel]
            used += entry.numel
            continue
        target[:] = base_entry(file, bases, shared[entry.name], entry)
    if used != own.shape[0]:
        raise ValueError(f"{dataset.name} holds {own.shape[0]} values, its layout's own entries {used}")
    return values


def base_entry(file, bases, path, entry):
    """Entry `entry.name` of the checkpoint at `path` (read once per call of full_values)."""
    if path not in bases:
        if path not in file:
            raise ValueError(f"entry {entry.name} is shared with {path}, which the store does not have")
        base = file[path]
        if base.name + "_shared" in file:  # bases hold every entry: no chains, no circles
            raise ValueError(f"entry {entry.name} is shared with {path}, which shares entries itself")
        layout = stored_layout(file, base)
        where = {row.name: (int(row.offset), int(row.numel)) for row in layout.itertuples()}
        bases[path] = (full_values(file, base, layout), where)
    values, where = bases[path]
    offset, numel = where.get(entry.name, (0, -1))
    if numel != entry.numel:
        raise ValueError(f"entry {entry.name} is shared with {path}, which has no entry of {entry.numel} values")
    return values[offset:offset + entry.numel]


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
