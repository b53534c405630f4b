"""The figures script on the test store: every figure written and not blank; absent cells skipped by name."""

import os
import subprocess
import sys

import matplotlib.image
import pytest

from conftest import REPO

EXPECTED = ["figure1_target", "figure1_transfer", "figure2_wtst", "figure3_cka_tiny_fm", "figure3_cka_tiny_vit_fm",
            "figure3_cka_cross_tiny_fm", "figure3_cka_cross_tiny_vit_fm", "figure4_l2", "figure5_reinit",
            "figure6_knn", "figure8_curves", "appendix_e_attention"]


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


def test_every_figure_is_written(all_figures):
    out, log = all_figures
    assert sorted(os.listdir(out)) == sorted(name + ".png" for name in EXPECTED)
    assert "skipped" not in log and f"{len(EXPECTED)} figures in" in log


@pytest.mark.parametrize("name", EXPECTED)
def test_each_png_is_a_real_picture(all_figures, name):
    path = os.path.join(all_figures[0], name + ".png")
    assert 10_000 < os.path.getsize(path) < 2_000_000
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert 300 <= height <= 3000 and 500 <= width <= 3000
    assert pixels[..., :3].var() > 1e-3  # not one flat colour
    assert (pixels[..., :3] < 0.5).mean() > 0.005  # some dark ink: text, lines, markers


def test_figures_without_their_cells_are_skipped_with_a_reason(store_path, tmp_path):
    run = draw(store_path, tmp_path, "model=tiny", "init=ri,st")
    assert run.returncode == 0, run.stderr
    skipped = {line.split(":")[0]: line for line in run.stdout.splitlines() if ": skipped: " in line}
    assert set(skipped) == {"Figure 1 (transfer gains)", "Figure 2 (WT-ST sweep)", "Figure 3 (CKA vs ST)",
                            "App. E (attention distance)"}
    assert "RI, ST and WT cells of the same setting (inits here: RI, ST)" in skipped["Figure 1 (transfer gains)"]
    assert "WT-ST cells" in skipped["Figure 2 (WT-ST sweep)"]
    assert "'cka_cross' analyses" in skipped["Figure 3 (CKA vs ST)"]
    assert "'attention_distance' analyses (ViT cells" in skipped["App. E (attention distance)"]
    assert "figure1_target.png" in os.listdir(tmp_path) and "appendix_e_attention.png" not in os.listdir(tmp_path)


def test_nothing_to_draw_is_an_error(store_path, tmp_path):
    run = draw(store_path, tmp_path, "model=resnet50")
    assert run.returncode == 1 and "no figure could be drawn" in run.stderr
    assert "needs done cells; the selection has none (0 selected)" in run.stdout


def test_a_bad_store_is_reported(tmp_path):
    path = tmp_path / "x.h5"
    path.write_text("x")
    run = draw(str(path), tmp_path / "out")
    assert run.returncode == 1 and "x.h5: not an HDF5 file" in run.stderr
