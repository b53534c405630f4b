"""Fixtures: a real store made by the featreuse executable, read by the package in python/.

The executable comes from $FEATREUSE (CTest passes the built one), else
build/src/app/featreuse; a missing executable fails the tests rather than
skipping them, so CI cannot pass without running them.
"""

import os
import subprocess
import sys

import h5py
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STUDY = os.path.join(os.path.dirname(__file__), "study.yaml")
SWEEP_STUDY = os.path.join(os.path.dirname(__file__), "sweep_study.yaml")
# The package under test is the checkout's, not an installed copy.
sys.path.insert(0, os.path.join(REPO, "python"))

import featreuse  # noqa: E402


def featreuse_executable():
    path = os.environ.get("FEATREUSE") or os.path.join(REPO, "build", "src", "app", "featreuse")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no featreuse executable at {path}: build it or set FEATREUSE")
    return path


@pytest.fixture(scope="session")
def executable():
    return featreuse_executable()


def run_study(executable, job, path):
    """`featreuse run JOB --store PATH` in one process and one thread, to completion."""
    run = subprocess.run([executable, "run", job, "--store", path, "--threads", "1", "--strict"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"featreuse run failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return path


@pytest.fixture(scope="session")
def store_path(tmp_path_factory, executable):
    """The study of study.yaml run to completion (one process, one thread: about 20 s)."""
    return run_study(executable, STUDY, str(tmp_path_factory.mktemp("study") / "s.h5"))


@pytest.fixture(scope="session")
def sweep_store_path(tmp_path_factory, executable):
    """The WT-ST sweep of sweep_study.yaml (two CNN sizes and a ViT, three depths; about 25 s)."""
    return run_study(executable, SWEEP_STUDY, str(tmp_path_factory.mktemp("sweep") / "sweep.h5"))


@pytest.fixture(scope="session")
def store(store_path):
    with featreuse.open_store(store_path) as opened:
        yield opened


@pytest.fixture(scope="session")
def raw(store_path):
    """The same file through h5py alone: the independent side of every comparison."""
    with h5py.File(store_path, "r", locking=False) as f:
        yield f


def decoded(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


@pytest.fixture(scope="session")
def cell_ids(raw):
    """(model, init, seed) -> id of every grid cell, read from the cells' own key and axes datasets."""
    import json
    out = {}
    for cell_id, group in raw["cells"].items():
        if decoded(group["kind"][()]) != "cell":
            continue
        axes = json.loads(decoded(group["axes"][()]))
        out[(axes["model"], axes["init"], axes["seed"])] = cell_id
    return out
