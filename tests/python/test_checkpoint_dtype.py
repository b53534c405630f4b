"""The recipe's `checkpoint_dtype`: checkpoints kept as bfloat16 or float16, read back as float32.

One small study (a source, an RI and a WT cell, an l2 analysis) runs four times:
without the key, with float32, bfloat16 and float16. Training is float32 in
every run and bit-identical on CPU, so each 16-bit store must hold exactly
torch's (bfloat16) or numpy's (float16) round-to-nearest-even cast of the
float32 store's weights, in half the bytes; the Python reader and `featreuse
weights export` must give those values as float32; a WT cell starts from its
source's stored (rounded) weights; the analysis says what precision it read;
and float32, the default, leaves every task id as it was without the key.
"""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

import featreuse
from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "tests", "oracles"))
from safetensors_io import read_safetensors  # noqa: E402

JOB = """name: checkpoint_dtype
configs: {configs}
overrides:
  recipe: {{epochs: 1, batch_size: 32, train_size: 256, eval_batch_size: 512{extra}}}
sources:
  src: {{model: tiny, dataset: fm, seed: 0}}
grid:
  model: [tiny]
  dataset: [fm]
  init: [ri, wt]
  seed: [0]
analyses:
  l2: {{}}
"""
DTYPES = (None, "float32", "bfloat16", "float16")


@pytest.fixture(scope="module")
def stores(tmp_path_factory, executable):
    """dtype -> (store path, {(kind, init) -> task id}) for each of the four runs."""
    folder = tmp_path_factory.mktemp("checkpoint_dtype")
    out = {}
    for dtype in DTYPES:
        name = dtype or "unset"
        job = folder / f"{name}.yaml"
        job.write_text(JOB.format(configs=os.path.join(REPO, "tests", "data", "configs"),
                                  extra=f", checkpoint_dtype: {dtype}" if dtype else ""))
        path = str(folder / f"{name}.h5")
        run = subprocess.run([executable, "run", str(job), "--store", path, "--threads", "1", "--strict"],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        with featreuse.open_store(path) as s:
            rows = s.results
        ids = {(r.kind, r.init): r.id for r in rows.itertuples()}  # a source's init is ri
        out[dtype] = (path, ids)
    return out


def flat(path, task_id, which="best"):
    with h5py.File(path, "r", locking=False) as f:
        d = f["cells"][task_id]["checkpoints"][which]
        return d.astype("f4")[()], d.attrs["dtype"].decode(), d.id.get_storage_size(), d.size


def rounded(values, dtype):
    if dtype == "bfloat16":
        return torch.from_numpy(values).to(torch.bfloat16).float().numpy()
    return values.astype(np.float16).astype(np.float32)


def test_float32_keeps_the_ids_of_a_recipe_without_the_key(stores):
    assert stores["float32"][1] == stores[None][1]
    assert stores["bfloat16"][1][("cell", "ri")] != stores[None][1][("cell", "ri")]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_stored_values_are_the_rounded_float32_weights_in_half_the_bytes(stores, dtype):
    path32, ids32 = stores["float32"]
    path, ids = stores[dtype]
    for key in [("source", "ri"), ("cell", "ri")]:
        for which in ("initial", "best"):
            full, kind32, bytes32, n = flat(path32, ids32[key], which)
            values, kind, stored_bytes, n16 = flat(path, ids[key], which)
            assert (kind32, kind) == ("float32", dtype)
            assert n16 == n and stored_bytes == 2 * n and bytes32 == 4 * n
            np.testing.assert_array_equal(values, rounded(full, dtype), err_msg=f"{key} {which}")
    with h5py.File(path32, "r", locking=False) as a, h5py.File(path, "r", locking=False) as b:
        logits32 = a["cells"][ids32[("cell", "ri")]]["test/logits"][()]
        np.testing.assert_array_equal(b["cells"][ids[("cell", "ri")]]["test/logits"][()], logits32)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_readers_give_float32(stores, executable, tmp_path, dtype):
    path, ids = stores[dtype]
    cell = ids[("cell", "ri")]
    values = flat(path, cell)[0]
    with featreuse.open_store(path) as s:
        state = s.state_dict(cell, "best", as_numpy=True)
        layout = s.layout(cell, "best")
    exported = str(tmp_path / "w.safetensors")
    subprocess.run([executable, "weights", "export", path, "--cell", cell, "--out", exported],
                   capture_output=True, text=True, check=True)
    from_cpp = read_safetensors(exported)
    for entry in layout.itertuples():
        expected = values[entry.offset:entry.offset + entry.numel].reshape(state[entry.name].shape)
        if entry.dtype != "float32":
            continue  # integer buffers (num_batches_tracked) are small counts, exact in any of the types
        assert state[entry.name].dtype == np.float32
        np.testing.assert_array_equal(state[entry.name], expected, err_msg=entry.name)
        np.testing.assert_array_equal(np.asarray(from_cpp[entry.name], dtype=np.float32), expected,
                                      err_msg=entry.name)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_transfer_starts_from_the_stored_source_and_the_analysis_says_what_it_read(stores, dtype):
    path, ids = stores[dtype]
    with featreuse.open_store(path) as s:
        source = s.state_dict(ids[("source", "ri")], "best", as_numpy=True)
        initial = s.state_dict(ids[("cell", "wt")], "initial", as_numpy=True)
        results = s.results
    l2 = results[(results.kind == "analysis") & (results.init == "wt")]
    for name, value in source.items():
        if not name.startswith("fc."):  # WT keeps every weight but the head's
            np.testing.assert_array_equal(initial[name], value, err_msg=name)
    # It trained from the rounded weights, so unlike the RI cell it ends elsewhere than in float32.
    path32, ids32 = stores["float32"]
    with h5py.File(path32, "r", locking=False) as a, h5py.File(path, "r", locking=False) as b:
        assert not np.array_equal(a["cells"][ids32[("cell", "wt")]]["test/logits"][()],
                                  b["cells"][ids[("cell", "wt")]]["test/logits"][()])
    (message,) = list(l2["message"])
    assert message.endswith(f"from checkpoints stored as {dtype}"), message
