"""Analysis tables with probe names as labels, against the raw rows and the stored checkpoints."""

import numpy as np
import pandas as pd
import pytest

from conftest import decoded
import featreuse

PROBES = {"tiny": ["conv1", "layer1.0", "layer2.0", "layer3.0", "layer4.0", "fc"],
          "tiny_vit": ["patch_embed", "blocks.0.attn", "blocks.0.mlp", "blocks.1.attn", "blocks.1.mlp", "head"]}


def raw_table(raw, store, cell_id, name):
    """An analysis table's rows through h5py, following the cell's link by hand."""
    link = raw[f"cells/{cell_id}/analysis"].get(name, getlink=True)
    rows = raw[f"{link.path}/{name}"][()]
    return pd.DataFrame({c: [decoded(v) for v in rows[c]] for c in rows.dtype.names})


def test_every_analysis_task_is_readable_by_its_own_id(store, raw):
    tasks = store.cells(kind="analysis")
    assert set(tasks["analysis"]) == {"knn", "reinit", "l2", "cka", "cka_cross", "attention_distance"}
    for task_id, name in zip(tasks["id"], tasks["analysis"]):
        table = store.analysis(task_id, name)
        stored = raw[f"cells/{task_id}/analysis/{name}"]
        assert len(table) == stored.shape[0] > 0, task_id
        assert not table.isna().all().all(), task_id


def test_each_cell_lists_the_analyses_of_itself(store, cell_ids):
    assert store.analyses(cell_ids[("tiny_vit", "wt", 0)]) == sorted(
        ["knn", "reinit", "l2", "cka", "cka_cross", "attention_distance"])
    assert store.analyses(cell_ids[("tiny", "wtst", 0)]) == ["cka", "cka_cross", "knn", "l2", "reinit"]
    # the ST partner links to a cka_cross, but one that analyses a transfer cell
    assert store.analyses(cell_ids[("tiny", "st", 0)]) == ["cka", "knn", "l2", "reinit"]
    assert store.analyses(cell_ids[("tiny", "ri", 1)]) == []


@pytest.mark.parametrize("model", ["tiny", "tiny_vit"])
def test_probe_values_follow_the_raw_rows(store, raw, cell_ids, model):
    cell_id = cell_ids[(model, "wt", 0)]
    for name, value in (("reinit", "target"), ("l2", "mean_scaled")):
        series = store.probe_values(cell_id, name)
        rows = raw_table(raw, store, cell_id, name)
        assert list(series.index) == list(rows["probe"]) == PROBES[model]
        assert np.array_equal(series.to_numpy(), rows[value].to_numpy())
    knn = store.probe_values(cell_id, "knn")
    rows = raw_table(raw, store, cell_id, "knn").set_index(["probe", "feature"])["target"]
    assert list(knn.index) == PROBES[model]
    for probe, target in knn.items():
        feature = next(f for f in featreuse.KNN_FEATURES if (probe, f) in rows.index)
        assert target == rows[(probe, feature)], probe


def test_knn_feature_choice(store, cell_ids):
    cell_id = cell_ids[("tiny_vit", "st", 0)]
    table = store.analysis(cell_id, "knn")
    assert table.index.names == ["probe", "feature"]
    concat = store.probe_values(cell_id, "knn", features="concat")
    assert concat["blocks.0.mlp"] == table.loc[("blocks.0.mlp", "concat"), "target"]
    assert concat["patch_embed"] == table.loc[("patch_embed", "mean"), "target"]  # its only feature
    accuracy = store.probe_values(cell_id, "knn", value="accuracy")
    assert ((accuracy >= 0) & (accuracy <= 1)).all()


@pytest.mark.parametrize("model,probe,tensors", [("tiny", "conv1", ["conv1.weight"]),
                                                 ("tiny", "fc", ["fc.weight", "fc.bias"]),
                                                 ("tiny_vit", "blocks.0.attn",
                                                  ["blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias",
                                                   "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias"])])
def test_l2_drift_matches_numpy_on_the_checkpoints(store, cell_ids, model, probe, tensors):
    cell_id = cell_ids[(model, "wtst", 0)]
    initial = store.state_dict(cell_id, "initial", as_numpy=True)
    best = store.state_dict(cell_id, "best", as_numpy=True)
    norms = [np.linalg.norm((best[t].astype(np.float64) - initial[t]).ravel()) for t in tensors]
    row = store.analysis(cell_id, "l2").loc[probe]
    assert row["tensors"] == len(tensors)
    assert row["mean_scaled"] == pytest.approx(np.mean([n / initial[t].size for n, t in zip(norms, tensors)]), rel=1e-4)
    assert row["frobenius"] == pytest.approx(np.sqrt(np.sum(np.square(norms))), rel=1e-4)


@pytest.mark.parametrize("model", ["tiny", "tiny_vit"])
def test_cka_matrices_are_labelled_and_placed(store, raw, cell_ids, model):
    cell_id = cell_ids[(model, "ri", 0)]
    layers = [p for p in PROBES[model] if p not in ("fc", "head")]  # the head is not a CKA probe
    rows = raw_table(raw, store, cell_id, "cka")
    for pair in ("init_init", "trained_init", "trained_trained"):
        matrix = store.cka(cell_id, pair=pair)
        assert list(matrix.index) == layers and list(matrix.columns) == layers
        chosen = rows[(rows["pair"] == pair) & (rows["view"] == "all")]
        for r, c, value in zip(chosen["row"], chosen["col"], chosen["reference"]):
            assert matrix.at[r, c] == value
    for pair in ("init_init", "trained_trained"):  # a network against itself
        matrix = store.cka(cell_id, pair=pair, estimator="minibatch").to_numpy()
        assert np.diag(matrix) == pytest.approx(1.0, abs=1e-4)
        assert matrix == pytest.approx(matrix.T, abs=1e-4)


def test_cka_views_of_a_vit(store, cell_ids):
    cell_id = cell_ids[("tiny_vit", "wt", 0)]
    cls = store.cka(cell_id, pair="trained_trained", view="cls")
    assert "patch_embed" not in cls.index and list(cls.index) == ["blocks.0.attn", "blocks.0.mlp", "blocks.1.attn",
                                                                   "blocks.1.mlp"]
    with pytest.raises(featreuse.MissingDataError, match="no pair 'trained_partner'.*pairs: init_init"):
        store.cka(cell_id, pair="trained_partner")


@pytest.mark.parametrize("init", ["wt", "wtst"])
def test_cka_cross_pairs_a_transfer_cell_with_its_st_partner(store, cell_ids, init):
    cell_id = cell_ids[("tiny", init, 0)]
    task = store.analysis_task(cell_id, "cka_cross")
    assert store.config(task)["cells"] == [cell_id, cell_ids[("tiny", "st", 0)]]
    matrix = store.cka_cross(cell_id)
    layers = PROBES["tiny"][:-1]
    assert list(matrix.index) == layers and list(matrix.columns) == layers
    assert ((matrix.to_numpy() > 0) & (matrix.to_numpy() <= 1 + 1e-6)).all()


def test_attention_distance_blocks_by_heads(store, raw, cell_ids):
    cell_id = cell_ids[("tiny_vit", "st", 0)]
    rows = raw_table(raw, store, cell_id, "attention_distance")
    for checkpoint in ("initial", "best"):
        matrix = store.attention_distance(cell_id, checkpoint)
        assert list(matrix.index) == ["blocks.0", "blocks.1"] and list(matrix.columns) == [0, 1]
        chosen = rows[rows["checkpoint"] == checkpoint]
        for block, head, distance in zip(chosen["block"], chosen["head"], chosen["distance"]):
            assert matrix.at[block, int(head)] == distance
        # 7 x 7 patches of 4 pixels: no distance beyond the grid's diagonal
        assert ((matrix.to_numpy() > 0) & (matrix.to_numpy() < 4 * 6 * np.sqrt(2))).all()


def test_a_missing_analysis_is_named(store, cell_ids):
    cell_id = cell_ids[("tiny", "ri", 0)]
    with pytest.raises(featreuse.MissingDataError, match=f"{cell_id}.*no analysis 'attention_distance' "
                                                         r"\(it has: cka, knn, l2, reinit\)"):
        store.attention_distance(cell_id)
    with pytest.raises(featreuse.MissingDataError, match="no table 'other'"):
        store.analysis(cell_id, "knn", table="other")
