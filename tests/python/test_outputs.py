"""Curves and test predictions, checked against the record the task wrote from them."""

import numpy as np
import pytest

from conftest import decoded


@pytest.mark.parametrize("model", ["tiny", "tiny_vit"])
def test_curves_keep_only_written_points(store, raw, cell_ids, model):
    cell_id = cell_ids[(model, "st", 1)]
    for split in ("train", "val"):
        curve = store.curves(cell_id, split)
        stored = raw[f"cells/{cell_id}/curves/{split}"][()]
        written = stored[stored["iteration"] >= 0]
        assert len(curve) == len(written) > 0
        assert (curve["iteration"].to_numpy() == written["iteration"]).all()
        assert list(curve.columns) == list(stored.dtype.names)
        assert curve["iteration"].is_monotonic_increasing
    # val_every 0.5 for one epoch: two validations, at half and at the end
    assert list(store.curves(cell_id, "val")["epoch"]) == pytest.approx([0.5, 1.0])


def test_best_val_is_the_curve_point_of_the_kept_checkpoint(store, cell_ids):
    for cell_id in cell_ids.values():
        record = store.record(cell_id)
        val = store.curves(cell_id, "val")
        if record["best_iteration"] == 0:  # no target rose above 0: initial weights kept
            continue
        point = val[val["iteration"] == record["best_iteration"]]
        assert len(point) == 1 and point["target"].iloc[0] == pytest.approx(record["best_val"]), cell_id


def test_logits_and_labels_give_the_recorded_accuracy(store, cell_ids):
    for cell_id in cell_ids.values():
        logits, labels = store.test_logits(cell_id), store.test_labels(cell_id)
        assert logits.shape == (len(labels), 3) and logits.dtype == np.float32
        accuracy = float(np.mean(logits.argmax(axis=1) == labels))
        assert accuracy == pytest.approx(store.record(cell_id)["test_accuracy"], abs=1e-6), cell_id


def test_predictions_equal_the_raw_datasets(store, raw, cell_ids):
    cell_id = cell_ids[("tiny", "wtst", 0)]
    assert np.array_equal(store.test_logits(cell_id), raw[f"cells/{cell_id}/test/logits"][()])
    assert np.array_equal(store.test_labels(cell_id), raw[f"cells/{cell_id}/test/labels"][()])
    assert decoded(raw[f"cells/{cell_id}/kind"][()]) == "cell"


def test_curve_choice_is_checked(store, cell_ids):
    with pytest.raises(ValueError, match="train, val"):
        store.curves(cell_ids[("tiny", "wt", 0)], "test")
