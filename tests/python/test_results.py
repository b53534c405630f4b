"""The results table: decoded, typed, and equal to every task's own record and axes."""

import json
import math

import pandas as pd
import pytest

from conftest import decoded
import featreuse


def test_one_row_per_task_and_the_expected_counts(store, raw):
    results = store.results
    assert sorted(results["id"]) == sorted(raw["cells"].keys())
    counts = results["kind"].value_counts().to_dict()
    # 2 models x (ri, st, wt, wtst) x 2 seeds; 2 ST draws per source; knn, reinit, l2, cka of the
    # 8 seed-0 cells, cka_cross of the 4 transfer cells, attention distance of the 4 ViT cells.
    assert counts == {"source": 2, "st": 4, "cell": 16, "analysis": 4 * 8 + 4 + 4}
    assert (results["status"] == "done").all()


def test_rows_equal_the_tasks_records(store, raw):
    results = store.results.set_index("id")
    for cell_id, group in raw["cells"].items():
        record = group["record"][()]
        for field in record.dtype.names:
            assert same(results.at[cell_id, field], decoded(record[field].item())), (cell_id, field)
        assert results.at[cell_id, "key"] == decoded(group["key"][()])
        assert results.at[cell_id, "kind"] == decoded(group["kind"][()])


def test_axes_are_typed_as_the_tasks_axes_json(store, raw):
    results = store.results.set_index("id")
    assert results["seed"].dtype == "int64"
    assert results["train_size"].dtype == "Int64"  # the sources lack it: stored as float with NaN
    assert results["wt_fraction"].dtype == "float64"
    for cell_id, group in raw["cells"].items():
        axes = json.loads(decoded(group["axes"][()]))
        for axis in store.axis_columns():
            value = results.at[cell_id, axis]
            expected = axes.get(axis)
            if expected is None:
                assert value is None or pd.isna(value), (cell_id, axis, value)
            else:
                assert value == expected and type(value) is not bytes, (cell_id, axis, value)


def test_record_and_descriptions_of_one_task(store, cell_ids, raw):
    cell_id = cell_ids[("tiny", "wt", 0)]
    record = store.record(cell_id)
    assert record["status"] == "done" and record["target_metric"] == "accuracy"
    assert record["test_accuracy"] == pytest.approx(float(raw["cells"][cell_id]["record"][()]["test_accuracy"]))
    assert store.kind(cell_id) == "cell"
    assert store.axes(cell_id)["init"] == "wt"
    assert store.config(cell_id)["recipe"]["train_size"] == 256
    assert "model=tiny" in store.key(cell_id)


def test_cells_filters_by_axis_values(store):
    chosen = store.cells(model="tiny", init=["ri", "wt"])
    results = store.results
    expected = results[(results["kind"] == "cell") & (results["model"] == "tiny") & results["init"].isin(["ri", "wt"])]
    assert sorted(chosen["id"]) == sorted(expected["id"]) and len(chosen) == 4
    assert list(chosen.index) == list(range(len(chosen)))
    sources = store.cells(kind="source")
    assert set(sources["model"]) == {"tiny", "tiny_vit"}
    without_source = store.cells(source=None)
    assert set(without_source["init"]) == {"ri"}
    assert len(store.cells(kind=None)) == len(results)


def test_cells_rejects_an_unknown_axis(store):
    with pytest.raises(featreuse.StoreError, match="no axis lr .*axes: .*model"):
        store.cells(lr=0.1)


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
