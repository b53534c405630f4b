"""Several stores as one study: the Python tests' study split by seed into two stores.

Training is bit-identical on CPU for a task id, so the two halves, read as one
(`featreuse report A B`, `featreuse.open_stores([A, B])`, the figures command
with two stores), must give what the whole study's single store gives. One id
under two configs is refused by both readers; a task pending in one store and
done in the other is read from the store that has it done.
"""

import json
import os
import shutil
import subprocess

import h5py
import numpy as np
import pytest

import featreuse
from conftest import STUDY, run_study

# Record fields that differ between two runs of the same task (when and where it ran).
RUN_FIELDS = {"host", "start_time", "end_time", "wall_s", "images_per_s", "attempts"}


@pytest.fixture(scope="module")
def halves(tmp_path_factory, executable):
    """The study's seed 0 and seed 1 as two stores (sources, ST draws and analyses in both where they apply)."""
    folder = tmp_path_factory.mktemp("halves")
    text = open(STUDY).read()
    configs = os.path.join(os.path.dirname(STUDY), "..", "data", "configs")
    paths = []
    for seed in (0, 1):
        job = folder / f"seed{seed}.yaml"
        job.write_text(text.replace("configs: ../data/configs", f"configs: {configs}")
                       .replace("seed: [0, 1]", f"seed: [{seed}]"))
        paths.append(run_study(executable, str(job), str(folder / f"seed{seed}.h5")))
    return paths


def report_json(executable, *paths):
    run = subprocess.run([executable, "report", *paths, "--format", "json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_report_of_two_stores_is_the_whole_study(executable, halves, store_path):
    whole = report_json(executable, store_path)
    split = report_json(executable, *halves)
    assert split["store"] == ", ".join(halves)
    assert [s["name"] for s in split["sections"]] == [s["name"] for s in whole["sections"]]
    for mine, theirs in zip(split["sections"], whole["sections"]):
        assert mine["rows"] == theirs["rows"], mine["name"]


def test_reader_reads_two_stores_as_the_whole(halves, store_path):
    with featreuse.open_store(store_path) as whole, featreuse.open_stores(halves) as split:
        a = whole.results.sort_values("id", ignore_index=True)
        b = split.results.sort_values("id", ignore_index=True)
        assert list(a["id"]) == list(b["id"])
        same = [c for c in a.columns if c not in RUN_FIELDS]
        assert a[same].equals(b[same])
        cell = whole.cells(model="tiny", init="wt", seed=1)["id"].iloc[0]
        assert split.store_of(cell).path == halves[1]
        for name, value in whole.state_dict(cell, as_numpy=True).items():
            np.testing.assert_array_equal(split.state_dict(cell, as_numpy=True)[name], value, err_msg=name)
        analysed = whole.cells(model="tiny", init="wt", seed=0)["id"].iloc[0]
        assert split.analyses(analysed) == whole.analyses(analysed)
        assert split.probe_values(analysed, "knn").equals(whole.probe_values(analysed, "knn"))
        assert len(split.cells(model="tiny", seed=[0, 1])) == len(whole.cells(model="tiny", seed=[0, 1]))


def test_figures_take_two_stores(halves, tmp_path):
    run = subprocess.run(["/usr/bin/python3", "-m", "featreuse.figures", *halves, "--out", str(tmp_path),
                          "--where", "model=tiny"],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=_package()))
    assert run.returncode == 0, run.stderr[-3000:]
    assert any(name.endswith(".png") for name in os.listdir(tmp_path))


def _package():
    return os.path.join(os.path.dirname(__file__), "..", "..", "python")


def test_one_id_under_two_configs_is_refused(executable, halves, tmp_path):
    changed = str(tmp_path / "changed.h5")
    shutil.copy(halves[1], changed)
    with h5py.File(changed, "r+", locking=False) as f:
        cell = next(k for k, g in f["cells"].items() if g["kind"][()] == b"cell")
        config = f["cells"][cell]["config"]
        text = config[()]
        assert b'"seed":1' in text
        config[()] = text.replace(b'"seed":1', b'"seed":7')  # same length: the fixed-length string fits
    run = subprocess.run([executable, "report", halves[1], changed], capture_output=True, text=True)
    assert run.returncode == 2
    assert cell in run.stderr and halves[1] in run.stderr and changed in run.stderr
    assert "not one study" in run.stderr
    with pytest.raises(featreuse.StoreError, match="not one study"):
        featreuse.open_stores([halves[1], changed])


def test_a_task_done_in_one_store_is_read_from_it(executable, halves, tmp_path):
    stale = str(tmp_path / "stale.h5")
    shutil.copy(halves[1], stale)
    with h5py.File(stale, "r+", locking=False) as f:
        cell = next(k for k, g in f["cells"].items()
                    if g["kind"][()] == b"cell" and b'"init":"wt"' in g["axes"][()])
        record = f["cells"][cell]["record"][()]
        record["status"] = b"pending"
        f["cells"][cell]["record"][()] = record
    with featreuse.open_stores([stale, halves[1]]) as split:
        assert split.store_of(cell).path == halves[1]
        assert split.record(cell)["status"] == "done"
        assert (split.results.set_index("id").loc[cell, "status"]) == "done"
    rows = [s["rows"] for s in report_json(executable, stale, halves[1])["sections"]]
    assert rows == [s["rows"] for s in report_json(executable, halves[1])["sections"]]


def test_status_counts_each_task_once(executable, halves, store_path):
    with featreuse.open_store(store_path) as whole:
        total = len(whole.results)
    run = subprocess.run([executable, "status", *halves], capture_output=True, text=True, check=True)
    first = run.stdout.splitlines()[0]
    assert first == f"study of 2 stores: {total} tasks: {total} done, 0 running, 0 failed, 0 pending", first
    for path in halves:
        assert f"{path}: " in run.stdout
