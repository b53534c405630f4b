"""state_dicts rebuilt from flat checkpoints, against numpy on the raw datasets and the C++ exporter."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from conftest import REPO, decoded
import featreuse

sys.path.insert(0, f"{REPO}/tests/integration")
from check_store import flat_values  # noqa: E402  the h5py-only reading docs/store.md shows

CASES = [("tiny", "wt", "best"), ("tiny", "ri", "initial"), ("tiny_vit", "st", "best"), ("tiny_vit", "wtst", "initial")]


def raw_state_dict(raw, cell_id, which):
    """name -> array straight from the datasets: layout rows parsed here, independently of the package."""
    flat = raw[f"cells/{cell_id}/checkpoints/{which}"]
    values = flat_values(raw, flat)
    out = {}
    for row in raw[decoded(flat.attrs["layout"])][()]:
        shape = [int(s) for s in decoded(row["shape"]).split(",") if s]
        start, count = int(row["offset"]), int(row["numel"])
        out[decoded(row["name"])] = (values[start:start + count].reshape(shape), decoded(row["dtype"]))
    return out


@pytest.mark.parametrize("model,init,which", CASES)
def test_state_dict_equals_the_raw_datasets(store, raw, cell_ids, model, init, which):
    cell_id = cell_ids[(model, init, 0)]
    state = store.state_dict(cell_id, which)
    expected = raw_state_dict(raw, cell_id, which)
    assert list(state) == list(expected)  # state_dict() order
    for name, tensor in state.items():
        values, dtype = expected[name]
        assert isinstance(tensor, torch.Tensor)
        assert str(tensor.dtype) == f"torch.{dtype}", name
        assert tuple(tensor.shape) == values.shape, name
        assert np.array_equal(tensor.numpy(), values.astype(dtype)), name


@pytest.mark.parametrize("model,which", [("tiny", "best"), ("tiny_vit", "initial")])
def test_state_dict_equals_the_exported_pth(store, cell_ids, executable, tmp_path, model, which):
    """`featreuse weights export` (C++) writes the same names, order, dtypes and values."""
    cell_id = cell_ids[(model, "wt", 1)]
    out = tmp_path / "w.pth"
    subprocess.run([executable, "weights", "export", store.path, "--cell", cell_id, "--which", which,
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    exported = torch.load(str(out))
    state = store.state_dict(cell_id, which)
    assert list(state) == list(exported)
    for name in state:
        assert state[name].dtype == exported[name].dtype, name
        assert torch.equal(state[name], exported[name]), name


def test_wt_cell_starts_from_the_sources_weights_but_its_head(store, cell_ids):
    """Reading two tasks' checkpoints gives the transfer the store describes: WT copies all but the head."""
    source = store.cells(kind="source", model="tiny")["id"][0]
    learned = store.state_dict(source, "best")
    initial = store.state_dict(cell_ids[("tiny", "wt", 0)], "initial")
    assert list(learned) == list(initial)
    for name in learned:
        assert torch.equal(learned[name], initial[name]) == (not name.startswith("fc.")), name


def test_training_changed_the_weights(store, cell_ids):
    cell_id = cell_ids[("tiny", "ri", 0)]
    initial, best = store.state_dict(cell_id, "initial"), store.state_dict(cell_id, "best")
    assert not torch.equal(initial["conv1.weight"], best["conv1.weight"])


def test_integer_buffers_come_back_as_int64(store, cell_ids):
    state = store.state_dict(cell_ids[("tiny", "wt", 0)], "best")
    counters = [name for name in state if name.endswith("num_batches_tracked")]
    assert counters and all(state[name].dtype == torch.int64 and state[name].item() > 0 for name in counters)


def test_as_numpy_and_the_layout(store, cell_ids):
    cell_id = cell_ids[("tiny_vit", "ri", 1)]
    state = store.state_dict(cell_id, "best", as_numpy=True)
    assert all(isinstance(v, np.ndarray) for v in state.values())
    layout = store.layout(cell_id)
    assert list(layout["name"]) == list(state)
    assert [tuple(s) for s in layout["shape"]] == [v.shape for v in state.values()]
    assert layout["offset"].iloc[-1] + layout["numel"].iloc[-1] == sum(v.size for v in state.values())


def test_without_torch_the_state_dict_is_numpy(store_path, cell_ids):
    """torch is optional: with its import failing, arrays come back."""
    code = ("import sys; sys.modules['torch'] = None; sys.path.insert(0, sys.argv[1]); import featreuse; "
            "import numpy as np; s = featreuse.open_store(sys.argv[2]); sd = s.state_dict(sys.argv[3]); "
            "assert all(isinstance(v, np.ndarray) for v in sd.values()); print(len(sd))")
    from conftest import REPO
    run = subprocess.run([sys.executable, "-c", code, f"{REPO}/python", store_path, cell_ids[("tiny", "st", 0)]],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) > 0


def test_choices_are_checked(store, cell_ids):
    with pytest.raises(ValueError, match="initial, best"):
        store.state_dict(cell_ids[("tiny", "wt", 0)], "last")
    with pytest.raises(featreuse.MissingDataError, match="no checkpoint 'best'.*analysis tasks hold only"):
        store.state_dict(store.cells(kind="analysis")["id"][0])


def test_weights_only_tasks_keep_one_checkpoint_under_both_names(raw):
    """An ST draw's (or import's) best is its initial: one dataset (two links, reference count 2)."""
    kinds = {}
    for task_id, group in raw["cells"].items():
        kind = decoded(group["kind"][()])
        if kind in ("st", "cell"):
            initial, best = group["checkpoints/initial"], group["checkpoints/best"]
            links = h5py.h5o.get_info(initial.id).rc
            kinds.setdefault(kind, set()).add((initial == best, links))
    assert kinds == {"st": {(True, 2)}, "cell": {(False, 1)}}


def shared_rows(raw, cell_id):
    path = f"cells/{cell_id}/checkpoints/initial_shared"
    return {decoded(r["name"]): decoded(r["from"]) for r in raw[path][()]} if path in raw else {}


def layout_rows(raw, cell_id, which="initial"):
    flat = raw[f"cells/{cell_id}/checkpoints/{which}"]
    return {decoded(r["name"]): int(r["numel"]) for r in raw[decoded(flat.attrs["layout"])][()]}


@pytest.mark.parametrize("model,head", [("tiny", "fc."), ("tiny_vit", "head.")])
def test_a_wt_cells_initial_holds_only_its_head(raw, cell_ids, model, head):
    """Everything else is its source's best: kept once, listed in initial_shared."""
    cell_id = cell_ids[(model, "wt", 0)]
    source = json.loads(decoded(raw[f"cells/{cell_id}/config"][()]))["init"]["source"]
    numel = layout_rows(raw, cell_id)
    shared = shared_rows(raw, cell_id)
    assert set(shared) == {name for name in numel if not name.startswith(head)}
    assert set(shared.values()) == {f"/cells/{source}/checkpoints/best"}
    own = raw[f"cells/{cell_id}/checkpoints/initial"]
    assert own.shape == (sum(n for name, n in numel.items() if name.startswith(head)),)
    assert raw[f"cells/{cell_id}/checkpoints/best"].shape == (sum(numel.values()),)


@pytest.mark.parametrize("model,init", [("tiny", "st"), ("tiny", "wtst"), ("tiny_vit", "st"), ("tiny_vit", "wtst")])
def test_st_and_wtst_initials_share_with_the_draw_and_the_source(raw, store, cell_ids, model, init):
    """Sampled tensors come from the ST draw, transferred ones (WT-ST) from the source; each listed
    entry's value in the resolved initial is its base's."""
    cell_id = cell_ids[(model, init, 1)]
    config = json.loads(decoded(raw[f"cells/{cell_id}/config"][()]))["init"]
    shared = shared_rows(raw, cell_id)
    bases = {f"/cells/{config['st_state']}/checkpoints/best"}
    if init == "wtst":
        bases.add(f"/cells/{config['source']}/checkpoints/best")
    assert set(shared.values()) == bases
    initial = store.state_dict(cell_id, "initial", as_numpy=True)
    for name, path in shared.items():
        base_id = path.split("/")[2]
        assert np.array_equal(initial[name], store.state_dict(base_id, "best", as_numpy=True)[name]), name
    numel = layout_rows(raw, cell_id)
    own = raw[f"cells/{cell_id}/checkpoints/initial"].shape[0]
    assert own == sum(n for name, n in numel.items() if name not in shared) > 0


def test_ri_cells_share_nothing(raw, cell_ids):
    for model in ("tiny", "tiny_vit"):
        assert shared_rows(raw, cell_ids[(model, "ri", 0)]) == {}
