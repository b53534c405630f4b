"""The figures script on the test stores: every figure written and not blank; absent cells skipped by name.

study.yaml's store gives every figure but Figure 7 (one model per architecture); sweep_study.yaml's
(two CNN sizes and a ViT along three WT-ST depths, k-NN of seed 0) gives Figures 6 bottom, 7 and 8 right.
"""

import os
import subprocess
import sys

import matplotlib.image
import pytest

from conftest import REPO

EXPECTED = ["figure1_target", "figure1_transfer", "figure2_wtst", "figure3_cka_tiny_fm", "figure3_cka_tiny_vit_fm",
            "figure3_cka_cross_tiny_fm", "figure3_cka_cross_tiny_vit_fm", "figure4_l2", "figure5_reinit",
            "figure6_knn", "figure6_knn_max", "figure8_curves", "figure8_speedup", "appendix_e_attention"]
# The sweep store's figures (no l2, reinit, CKA or attention analyses there).
SWEEP_EXPECTED = ["figure1_target", "figure1_transfer", "figure2_wtst", "figure6_knn", "figure6_knn_max",
                  "figure7_capacity", "figure8_curves", "figure8_speedup"]
SWEEP_NEW = ["figure6_knn_max", "figure7_capacity", "figure8_speedup"]
CAPACITY = "Figure 7 (capacity)"
KNN_MAX = "Figure 6 bottom (best k-NN per WT-ST depth)"
SPEEDUP = "Figure 8 right (convergence speed-up)"


def draw(store_path, out_dir, *where):
    """`python3 -m featreuse.figures` as a user runs it (the checkout's package on the path)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"), MPLBACKEND="Agg")
    command = [sys.executable, "-m", "featreuse.figures", store_path, "--out", str(out_dir)]
    if where:
        command += ["--where", *where]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def all_figures(store_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    run = draw(store_path, out)
    assert run.returncode == 0, run.stderr
    return out, run.stdout


@pytest.fixture(scope="module")
def sweep_figures(sweep_store_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep_figures")
    run = draw(sweep_store_path, out)
    assert run.returncode == 0, run.stderr
    return out, run.stdout


def skipped_lines(log):
    return {line.split(":")[0]: line for line in log.splitlines() if ": skipped: " in line}


def test_every_figure_is_written(all_figures):
    out, log = all_figures
    assert sorted(os.listdir(out)) == sorted(name + ".png" for name in EXPECTED)
    assert list(skipped_lines(log)) == [CAPACITY] and f"{len(EXPECTED)} figures in" in log
    assert ("needs done WT-ST cells of at least two models of one architecture (models with WT-ST cells here: "
            "tiny (resnet), tiny_vit (deit))") in skipped_lines(log)[CAPACITY]


def test_the_sweep_figures_are_written(sweep_figures):
    out, log = sweep_figures
    assert sorted(os.listdir(out)) == sorted(name + ".png" for name in SWEEP_EXPECTED)
    assert set(skipped_lines(log)) == {"Figure 3 (CKA)", "Figure 3 (CKA vs ST)", "Figure 4 (l2 drift)",
                                       "Figure 5 (re-initialisation)", "App. E (attention distance)"}


@pytest.mark.parametrize("name", EXPECTED)
def test_each_png_is_a_real_picture(all_figures, name):
    assert_real_picture(os.path.join(all_figures[0], name + ".png"))


@pytest.mark.parametrize("name", SWEEP_NEW)
def test_each_sweep_png_is_a_real_picture(sweep_figures, name):
    assert_real_picture(os.path.join(sweep_figures[0], name + ".png"))


def assert_real_picture(path):
    assert 10_000 < os.path.getsize(path) < 2_000_000
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert 300 <= height <= 3000 and 500 <= width <= 3000
    assert pixels[..., :3].var() > 1e-3  # not one flat colour
    assert (pixels[..., :3] < 0.5).mean() > 0.005  # some dark ink: text, lines, markers


def test_figures_without_their_cells_are_skipped_with_a_reason(store_path, tmp_path):
    run = draw(store_path, tmp_path, "model=tiny", "init=ri,st")
    assert run.returncode == 0, run.stderr
    skipped = skipped_lines(run.stdout)
    assert set(skipped) == {"Figure 1 (transfer gains)", "Figure 2 (WT-ST sweep)", "Figure 3 (CKA vs ST)", KNN_MAX,
                            CAPACITY, SPEEDUP, "App. E (attention distance)"}
    assert "RI, ST and WT cells of the same setting (inits here: RI, ST)" in skipped["Figure 1 (transfer gains)"]
    assert "WT-ST cells" in skipped["Figure 2 (WT-ST sweep)"]
    assert "'cka_cross' analyses" in skipped["Figure 3 (CKA vs ST)"]
    assert "'attention_distance' analyses (ViT cells" in skipped["App. E (attention distance)"]
    assert "needs done 'knn' analyses of WT-ST cells" in skipped[KNN_MAX]
    assert "needs done WT-ST cells" in skipped[CAPACITY]
    assert "needs done RI and WT-ST cells" in skipped[SPEEDUP]
    assert "figure1_target.png" in os.listdir(tmp_path) and "appendix_e_attention.png" not in os.listdir(tmp_path)


# Each new figure skipped by a selection that lacks only what it needs (its PNG), the other two still drawn.
SWEEP_SKIPS = [
    (["init=st,wt,wtst"], SPEEDUP, "figure8_speedup",
     "needs done RI and WT-ST cells (init wtst with wt_fraction or wt_blocks) of the same setting with validation "
     "curves: the speed-up is RI's steps to 95% of the final validation target over each depth's "
     "(inits here: ST, WT-ST f=0.25, WT-ST f=0.5, WT-ST f=0.75, WT)"),
    (["model=tiny,tiny_vit"], CAPACITY, "figure7_capacity",
     "needs done WT-ST cells of at least two models of one architecture "
     "(models with WT-ST cells here: tiny (resnet), tiny_vit (deit))"),
    (["seed=1"], KNN_MAX, "figure6_knn_max",
     "needs done 'knn' analyses of WT-ST cells (init wtst with wt_fraction or wt_blocks; "
     "those of ST and WT cells give a fraction sweep its ends)"),
]


@pytest.mark.parametrize("where, figure, png, message", SWEEP_SKIPS, ids=["no RI", "one size each", "no k-NN"])
def test_a_new_figure_without_its_cells_is_skipped(sweep_store_path, tmp_path, where, figure, png, message):
    run = draw(sweep_store_path, tmp_path, *where)
    assert run.returncode == 0, run.stderr
    skipped = skipped_lines(run.stdout)
    assert skipped[figure] == f"{figure}: skipped: {message}"
    assert not ({KNN_MAX, CAPACITY, SPEEDUP} - {figure}) & set(skipped)
    written = set(os.listdir(tmp_path))
    assert {name: name + ".png" in written for name in SWEEP_NEW} == {name: name != png for name in SWEEP_NEW}


def test_nothing_to_draw_is_an_error(store_path, tmp_path):
    run = draw(store_path, tmp_path, "model=resnet50")
    assert run.returncode == 1 and "no figure could be drawn" in run.stderr
    assert "needs done cells; the selection has none (0 selected)" in run.stdout


def test_a_bad_store_is_reported(tmp_path):
    path = tmp_path / "x.h5"
    path.write_text("x")
    run = draw(str(path), tmp_path / "out")
    assert run.returncode == 1 and "x.h5: not an HDF5 file" in run.stderr
