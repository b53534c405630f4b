"""The numbers Figures 6 (bottom), 7 and 8 (right) plot, recomputed from the sweep store with h5py and
numpy alone (and Figure 8's steps against `featreuse report`'s convergence section)."""

import json
import subprocess

import h5py
import numpy as np
import pytest

from conftest import decoded
import featreuse
from featreuse.figures import Study, capacity_sweeps, convergence_speedups, knn_maxima

MODELS = ["other", "tiny", "tiny_vit"]
DEPTHS = [0.0, 0.25, 0.5, 0.75, 1.0]  # ST, the job's three WT-ST fractions, WT
# Which feature stands for a k-NN probe: the first of these it has (docs/store.md).
PROBE_FEATURES = ("cls", "mean", "as is")


@pytest.fixture(scope="module")
def sweep_raw(sweep_store_path):
    with h5py.File(sweep_store_path, "r", locking=False) as f:
        yield f


@pytest.fixture(scope="module")
def study(sweep_store_path):
    with featreuse.open_store(sweep_store_path) as store:
        yield Study(store)


@pytest.fixture(scope="module")
def raw_cells(sweep_raw):
    """id -> (model, x on the sweep: ST 0, WT 1, WT-ST its fraction, RI None) of every grid cell."""
    out = {}
    for cell_id, group in sweep_raw["cells"].items():
        if decoded(group["kind"][()]) == "cell":
            axes = json.loads(decoded(group["axes"][()]))
            x = {"ri": None, "st": 0.0, "wt": 1.0}.get(axes["init"], axes.get("wt_fraction"))
            out[cell_id] = (axes["model"], x)
    return out


def grouped(raw_cells, value):
    """(model, x) -> [value(cell id) for each seed's cell]."""
    out = {}
    for cell_id, key in raw_cells.items():
        out.setdefault(key, []).append(value(cell_id))
    return out


def raw_steps(raw, cell_id, share=0.95):
    """Iterations until the raw validation curve first reaches `share` of its last point."""
    rows = raw[f"cells/{cell_id}/curves/val"][()]
    rows = rows[rows["iteration"] >= 0]
    assert len(rows) == 8 and rows["target"][-1] > 0  # every quarter epoch for two epochs
    return float(rows["iteration"][np.argmax(rows["target"] >= share * rows["target"][-1])])


def test_figure8_speedups_are_ri_steps_over_each_depths(study, sweep_raw, raw_cells):
    data, depth = convergence_speedups(study)
    assert depth == "wt_fraction"
    steps = grouped(raw_cells, lambda cell_id: raw_steps(sweep_raw, cell_id))
    assert {len(v) for v in steps.values()} == {2}  # two seeds per point
    expected = {(model, x): np.mean(steps[(model, None)]) / np.mean(steps[(model, x)])
                for model in MODELS for x in DEPTHS}
    got = {(row.model, row.depth): row.speedup for row in data.itertuples()}
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert not np.allclose(list(got.values()), 1.0)  # the curves differ: a check that can fail


def test_figure8_steps_are_the_reports_convergence_steps(study, executable, sweep_store_path):
    run = subprocess.run([executable, "report", sweep_store_path, "--format", "json", "--section", "convergence"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    section = json.loads(run.stdout)["sections"][0]
    column = section["columns"].index("to 95% mean")
    report = {}
    for row in section["rows"]:
        values = dict(zip(section["columns"], row))
        x = {"ri": None, "st": 0.0, "wt": 1.0}.get(values["init"])
        report[(values["model"], x if values["init"] != "wtst" else float(values["wt_fraction"]))] = row[column]
    data, _ = convergence_speedups(study)
    for row in data.itertuples():
        assert row.steps == pytest.approx(report[(row.model, row.depth)]), (row.model, row.depth)
        assert row.ri_steps == pytest.approx(report[(row.model, None)]), row.model


def raw_knn_max(raw, cell_id):
    """The highest k-NN target over a cell's probes, each probe's feature the first of PROBE_FEATURES it has."""
    link = raw[f"cells/{cell_id}/analysis"].get("knn", getlink=True)
    rows = raw[f"{link.path}/knn"][()]
    by_probe = {}
    for probe, feature, target in zip(rows["probe"], rows["feature"], rows["target"]):
        by_probe.setdefault(decoded(probe), {})[decoded(feature)] = float(target)
    best = [next((f[name] for name in PROBE_FEATURES if name in f), next(iter(f.values())))
            for f in by_probe.values()]
    return max(best)


def test_figure6_bottom_is_the_best_probe_of_each_analysed_cell(study, sweep_raw, raw_cells):
    data, depth = knn_maxima(study)
    assert depth == "wt_fraction"
    analysed = {cell_id: key for cell_id, key in raw_cells.items()
                if "knn" in sweep_raw[f"cells/{cell_id}"].get("analysis", {})}
    assert len(analysed) == len(MODELS) * len(DEPTHS)  # seed 0's ST, WT and WT-ST cells
    assert sorted(data["id"]) == sorted(analysed)
    for row in data.itertuples():
        assert (row.model, row.depth) == analysed[row.id]
        assert row.knn_max == raw_knn_max(sweep_raw, row.id), row.id
        assert study.store.probe_values(row.id, "knn")[row.best_probe] == row.knn_max


def test_figure7_means_follow_the_raw_results_and_sizes_the_layouts(study, sweep_raw, raw_cells):
    data, depth = capacity_sweeps(study)
    assert depth == "wt_fraction"
    results = sweep_raw["results"][()]
    target = {decoded(i): float(t) for i, t in zip(results["id"], results["target"])}
    targets = grouped({i: k for i, k in raw_cells.items() if k[1] is not None}, target.get)
    assert len(data) == len(targets) == len(MODELS) * len(DEPTHS)
    for row in data.itertuples():
        values = targets[(row.model, row.depth)]
        assert row.mean == pytest.approx(np.mean(values), rel=1e-12)
        assert row.std == pytest.approx(np.std(values, ddof=1), rel=1e-9, abs=1e-12)
    sizes = data.drop_duplicates("model").set_index("model")
    assert list(sizes.index) == ["other", "tiny", "tiny_vit"]  # resnet by size, then deit
    assert list(sizes["family"]) == ["resnet", "resnet", "deit"]
    for model, row in sizes.iterrows():
        cell_id = next(i for i, k in raw_cells.items() if k[0] == model)
        layout = sweep_raw[decoded(sweep_raw[f"cells/{cell_id}/checkpoints/best"].attrs["layout"])][()]
        kinds = np.array([decoded(k) for k in layout["kind"]])
        assert row["parameters"] == int(layout["numel"][kinds == "parameter"].sum()), model
    assert sizes.loc["other", "parameters"] < sizes.loc["tiny", "parameters"]
