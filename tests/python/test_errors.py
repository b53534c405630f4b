"""Bad input gives errors that name the file, the task and what is missing."""

import shutil

import h5py
import numpy as np
import pytest

import featreuse


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.h5: no such file"):
        featreuse.open_store(tmp_path / "nothere.h5")


def test_a_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not a store\n")
    with pytest.raises(featreuse.NotAStoreError, match="notes.h5: not an HDF5 file"):
        featreuse.open_store(path)


def test_an_hdf5_file_that_is_not_a_store(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(featreuse.NotAStoreError, match="other.h5: not a featreuse store .*'format' is None"):
        featreuse.open_store(path)


def test_a_newer_schema(tmp_path):
    path = tmp_path / "future.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = np.bytes_(b"featreuse-store")
        f.attrs["schema_version"] = 99
    with pytest.raises(featreuse.StoreError, match="schema 99 is newer"):
        featreuse.open_store(path)


def test_an_unknown_task_id(store):
    for bad in ("000000000000", "../results", "", "."):
        with pytest.raises(featreuse.UnknownCellError) as error:
            store.state_dict(bad)
        assert store.path in str(error.value) and f"no task '{bad}'" in str(error.value)
        assert isinstance(error.value, KeyError)


def test_a_task_that_is_not_done(store_path, cell_ids, tmp_path):
    """Its datasets exist (allocated with the store) but hold nothing yet: refused unless asked."""
    copy = tmp_path / "copy.h5"
    shutil.copy(store_path, copy)
    cell_id = cell_ids[("tiny", "wt", 1)]
    with h5py.File(copy, "r+") as f:
        record = f[f"cells/{cell_id}/record"][()]
        record["status"] = b"running"
        f[f"cells/{cell_id}/record"][()] = record
    with featreuse.open_store(copy) as store:
        for read in (lambda: store.state_dict(cell_id), lambda: store.curves(cell_id),
                     lambda: store.test_logits(cell_id)):
            with pytest.raises(featreuse.MissingDataError, match=f"cell {cell_id} .*is running.*require_done=False"):
                read()
        assert len(store.state_dict(cell_id, require_done=False)) > 0


def test_an_analysis_that_is_not_done(store_path, cell_ids, tmp_path):
    copy = tmp_path / "copy.h5"
    shutil.copy(store_path, copy)
    cell_id = cell_ids[("tiny", "wt", 0)]
    with featreuse.open_store(copy) as store:
        task = store.analysis_task(cell_id, "knn")
    with h5py.File(copy, "r+") as f:
        record = f[f"cells/{task}/record"][()]
        record["status"] = b"pending"
        f[f"cells/{task}/record"][()] = record
    with featreuse.open_store(copy) as store:
        with pytest.raises(featreuse.MissingDataError, match=f"analysis {task} .*is pending, so its 'knn' table"):
            store.probe_values(cell_id, "knn")


def test_a_checkpoint_whose_layout_is_gone(store_path, cell_ids, tmp_path):
    copy = tmp_path / "copy.h5"
    shutil.copy(store_path, copy)
    cell_id = cell_ids[("tiny_vit", "ri", 0)]
    with h5py.File(copy, "r+") as f:
        f[f"cells/{cell_id}/checkpoints/best"].attrs["layout"] = np.bytes_(b"/layouts/missing")
    with featreuse.open_store(copy) as store:
        with pytest.raises(featreuse.MissingDataError, match=f"{cell_id} .*names layout '/layouts/missing'"):
            store.state_dict(cell_id)


def test_a_cell_without_its_checkpoint(store_path, cell_ids, tmp_path):
    """What a cell whose setup failed looks like: no checkpoints group."""
    copy = tmp_path / "copy.h5"
    shutil.copy(store_path, copy)
    cell_id = cell_ids[("tiny", "st", 1)]
    with h5py.File(copy, "r+") as f:
        del f[f"cells/{cell_id}/checkpoints"]
    with featreuse.open_store(copy) as store:
        with pytest.raises(featreuse.MissingDataError,
                           match=f"copy.h5: cell {cell_id} \\(model=tiny .*\\) has no checkpoint 'initial'"):
            store.state_dict(cell_id, "initial")
