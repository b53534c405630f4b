"""`featreuse report` in every format, its numbers recomputed from the store.

The report's json is compared with pandas and scipy on the results table (read
by the package in python/): cell groups' mean, sample std and n, Figure 1's
gain, Welch's t-test of WT vs ST and RI per setting (scipy's
ttest_ind(equal_var=False)), l2 drift per probe. csv must read with pandas to
the json's values, md must be tables, a bad --format must be refused, and
failed or pending cells must be listed by key and left out of every mean.
"""

import io
import json
import math
import re
import shutil
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import decoded

SECTIONS = ["cells", "figure1", "welch", "convergence", "knn", "reinit", "l2", "cka", "cka_cross",
            "attention_distance"]


def report(executable, path, *options):
    run = subprocess.run([executable, "report", path, *options], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"report {' '.join(options)} failed ({run.returncode}): {run.stderr}"
    return run.stdout


def sections(executable, path, *options):
    doc = json.loads(report(executable, path, "--format", "json", *options))
    assert doc["store"] == path
    return {s["name"]: s for s in doc["sections"]}


def frame(section):
    """A json section as pandas reads it (None for an empty cell)."""
    return pd.DataFrame(section["rows"], columns=section["columns"])


@pytest.fixture(scope="module")
def doc(executable, store_path):
    return sections(executable, store_path)


@pytest.fixture(scope="module")
def accuracy(store):
    """model, init, seed, accuracy of every grid cell, from the results table."""
    cells = store.cells()
    assert (cells["target_metric"] == "accuracy").all()
    return cells[["model", "init", "seed", "test_accuracy"]]


def welch_df(a, b):
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    return (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))


def test_json_has_every_section_with_typed_rows(doc):
    assert list(doc) == SECTIONS  # nothing missing: no "missing" section
    for section in doc.values():
        assert section["description"] and section["rows"], section["name"]
        assert all(len(row) == len(section["columns"]) for row in section["rows"]), section["name"]
        for i, column in enumerate(section["columns"]):
            values = [row[i] for row in section["rows"]]
            if column.endswith((" mean", " std")):
                assert all(v is None or isinstance(v, float) for v in values), (section["name"], column)
            if column.endswith(" n"):
                assert all(isinstance(v, int) for v in values), (section["name"], column)


def test_cell_groups_equal_pandas(doc, accuracy):
    got = frame(doc["cells"]).set_index(["model", "init"])
    want = accuracy.groupby(["model", "init"])["test_accuracy"].agg(["mean", "std", "count"])
    assert len(got) == len(want) == 8
    for key, row in want.iterrows():
        assert got.at[key, "test mean"] == pytest.approx(row["mean"], rel=1e-12)
        assert got.at[key, "test std"] == pytest.approx(row["std"], rel=1e-9)
        assert got.at[key, "test n"] == got.at[key, "n"] == row["count"] == 2
        assert got.at[key, "not done"] == ""
    # An axis that does not apply to a row is null, not "-".
    assert got.at[("tiny", "ri"), "source"] is None and got.at[("tiny", "wt"), "source"] == "cnn"


def test_figure1_gain_equals_pandas(doc, accuracy):
    got = frame(doc["figure1"]).set_index("model")
    means = accuracy.groupby(["model", "init"])["test_accuracy"].mean()
    for model in ("tiny", "tiny_vit"):
        assert got.at[model, "WT/RI"] == pytest.approx(means[model, "wt"] / means[model, "ri"], rel=1e-12)
        share = (means[model, "wt"] - means[model, "st"]) / means[model, "wt"]
        assert got.at[model, "(WT-ST)/WT"] == pytest.approx(share, rel=1e-9, abs=1e-12)
    assert sorted(got["normalised"]) == [0.0, 1.0]


def test_welch_equals_scipy(doc, accuracy):
    got = frame(doc["welch"]).set_index(["model", "comparison"])
    assert len(got) == 4
    for model in ("tiny", "tiny_vit"):
        wt = accuracy[(accuracy.model == model) & (accuracy.init == "wt")]["test_accuracy"].to_numpy()
        for other in ("st", "ri"):
            o = accuracy[(accuracy.model == model) & (accuracy.init == other)]["test_accuracy"].to_numpy()
            want = stats.ttest_ind(wt, o, equal_var=False)
            row = got.loc[(model, f"WT vs {other.upper()}")]
            assert row["t"] == pytest.approx(want.statistic, rel=1e-9)
            assert row["p"] == pytest.approx(want.pvalue, rel=1e-9)
            assert row["df"] == pytest.approx(welch_df(wt, o), rel=1e-9)
            assert row["WT - other"] == pytest.approx(wt.mean() - o.mean(), rel=1e-9, abs=1e-12)
            assert row["n WT"] == len(wt) == 2 and row["n other"] == len(o) == 2


def test_l2_equals_the_stored_tables(doc, store):
    got = frame(doc["l2"]).set_index(["model", "probe"])
    cells = store.cells(seed=0)
    for _, cell in cells.iterrows():
        for probe, value in store.probe_values(cell["id"], "l2").items():
            assert got.at[(cell["model"], probe), f"{cell['init']} mean"] == pytest.approx(value, rel=1e-12)
            assert got.at[(cell["model"], probe), f"{cell['init']} n"] == 1
            assert pd.isna(got.at[(cell["model"], probe), f"{cell['init']} std"])  # one seed: no std


def test_csv_reads_with_pandas_to_the_json_values(executable, store_path, doc):
    whole = report(executable, store_path, "--format", "csv")
    blocks = whole.split("\n\n")
    assert [b.splitlines()[0].split(":")[0] for b in blocks] == [f"# {name}" for name in SECTIONS]
    for name, section in doc.items():
        text = report(executable, store_path, "--format", "csv", "--section", name)
        assert text.strip() == blocks[SECTIONS.index(name)].strip()
        got = pd.read_csv(io.StringIO(text), comment="#", keep_default_na=False, na_values=[""])
        want = frame(section)
        assert list(got.columns) == section["columns"], name
        assert len(got) == len(want), name
        for column in want.columns:
            for a, b in zip(got[column], want[column]):
                if b is None or b == "" or (isinstance(b, float) and math.isnan(b)):  # csv: both empty
                    assert pd.isna(a), (name, column, a)
                elif isinstance(b, str):
                    assert str(a) == b, (name, column, a, b)
                else:
                    assert a == pytest.approx(b, rel=1e-15), (name, column, a, b)


def test_markdown_is_tables_under_section_headings(executable, store_path, doc):
    text = report(executable, store_path, "--format", "md")
    assert re.findall(r"^## (\S+)$", text, re.M) == SECTIONS
    lines = text.splitlines()
    tables = 0
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|( ---:? \|)+", line):
            tables += 1
            width = line.count("|")
            assert lines[i - 1].startswith("| ") and lines[i - 1].count("|") == width
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].count("|") - lines[j].count("\\|") == width, lines[j]
                j += 1
            assert j > i + 1, f"a table without rows after line {i}"
    # One table per setting (model) in the analyses' sections, one in the others.
    assert tables == 4 + 2 * 5 + 1
    assert "| tiny | WT vs ST |" in text


def test_text_is_the_default(executable, store_path):
    text = report(executable, store_path)
    assert text == report(executable, store_path, "--format", "text")
    assert "Welch's t-test" in text and "± " in text
    assert "\nmodel=tiny_vit\nprobe " in text  # analyses: a table per setting


def test_a_bad_format_is_refused_naming_it(executable, store_path):
    run = subprocess.run([executable, "report", store_path, "--format", "xlsx"], capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == ""
    assert "unknown format 'xlsx' (known: text, md, csv, json)" in run.stderr
    run = subprocess.run([executable, "report", store_path, "--section", "table9"], capture_output=True, text=True)
    assert run.returncode == 2 and "unknown section 'table9'" in run.stderr


def set_status(group, status, message=""):
    record = group["record"][()]
    record["status"] = status.encode()
    record["message"] = message.encode()
    group["record"][()] = record


def test_failed_and_pending_cells_are_listed_and_left_out(executable, store_path, tmp_path, cell_ids):
    path = str(tmp_path / "broken.h5")
    shutil.copy(store_path, path)
    failed, pending = cell_ids[("tiny", "wt", 1)], cell_ids[("tiny", "st", 0)]
    with h5py.File(path, "r+") as f:
        set_status(f["cells"][failed], "failed", "diverged, loss nan")
        set_status(f["cells"][pending], "pending")
        keys = {i: decoded(f["cells"][i]["key"][()]) for i in (failed, pending)}
        kept = {init: float(f["cells"][cell_ids[("tiny", init, s)]]["record"][()]["test_accuracy"])
                for init, s in (("wt", 0), ("st", 1))}
    doc = sections(executable, path)
    assert list(doc)[:2] == ["cells", "missing"]
    missing = frame(doc["missing"]).set_index("id")
    assert sorted(missing.index) == sorted([failed, pending])
    assert missing.at[failed, "status"] == "failed" and missing.at[failed, "message"] == "diverged, loss nan"
    assert missing.at[pending, "status"] == "pending" and missing.at[pending, "kind"] == "cell"
    assert missing.at[failed, "key"] == keys[failed] and missing.at[pending, "key"] == keys[pending]

    cells = frame(doc["cells"]).set_index(["model", "init"])
    assert cells.at[("tiny", "wt"), "not done"] == "1 failed"
    assert cells.at[("tiny", "st"), "not done"] == "1 pending"
    assert cells.at[("tiny", "wt"), "test n"] == 1 and pd.isna(cells.at[("tiny", "wt"), "test std"])
    assert cells.at[("tiny", "wt"), "test mean"] == pytest.approx(kept["wt"], rel=1e-12)
    assert cells.at[("tiny", "st"), "test mean"] == pytest.approx(kept["st"], rel=1e-12)

    # One value a side: no t, df or p, never a made-up number; the other model keeps its test.
    columns = doc["welch"]["columns"]
    rows = {(r[0], r[1]): dict(zip(columns, r)) for r in doc["welch"]["rows"]}
    for comparison in ("WT vs ST", "WT vs RI"):
        row = rows[("tiny", comparison)]
        assert row["t"] is None and row["df"] is None and row["p"] is None and row["n WT"] == 1
        assert isinstance(rows[("tiny_vit", comparison)]["p"], float)
    text = report(executable, path)
    assert "diverged, loss nan" in text and keys[failed] in text
