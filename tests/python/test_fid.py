"""FID kept in a store: `featreuse fid REF DATASET --store S.h5`, read back three ways.

The FID network is torchvision's InceptionV3 (Debian's python3-torchvision) with
random weights saved as a .pth: the value means nothing, but it is the one
`fid` printed, so what the store keeps can be checked against it, through h5py
alone, the Python reader and `featreuse report`. Also: a rerun of the job
leaves the kept value alone, a second value replaces the first, and a store
that a run is writing (its lock held) is refused before anything is computed.
"""

import fcntl
import json
import os
import re
import shutil
import subprocess

import h5py
import pytest

import featreuse
from conftest import REPO

CONFIGS = os.path.join(REPO, "tests", "data", "configs")
STUDY = os.path.join(os.path.dirname(__file__), "study.yaml")


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    path = str(tmp_path_factory.mktemp("fid") / "inception_random.pth")
    torch.save(net.state_dict(), path)
    return path


def fid(executable, *args):
    run = subprocess.run([executable, "fid", *args, "--configs", CONFIGS, "--threads", "2"],
                         capture_output=True, text=True, timeout=600)
    return run


def printed_fid(run):
    assert run.returncode == 0, run.stderr[-3000:]
    return float(re.search(r"^FID: (\S+)$", run.stdout, re.M).group(1))


@pytest.fixture(scope="module")
def fid_store(tmp_path_factory, store_path, executable, inception_weights):
    """A copy of the study's store with the FID of fm's train split to its test split's statistics."""
    folder = tmp_path_factory.mktemp("fid_store")
    path = str(folder / "s.h5")
    shutil.copy(store_path, path)
    reference = str(folder / "fm_test.npz")
    made = fid(executable, "--save-stats", "fm", reference, "--split", "test", "--max-images", "8",
               "--weights", inception_weights)
    assert made.returncode == 0, made.stderr[-3000:]
    kept = fid(executable, reference, "fm", "--max-images", "8", "--weights", inception_weights, "--store", path)
    return path, reference, printed_fid(kept)


def test_the_printed_value_is_kept_with_its_provenance(fid_store, inception_weights):
    path, reference, value = fid_store
    with h5py.File(path, "r", locking=False) as f:
        entries = list(f["fid"].values())
        assert len(entries) == 1
        a = entries[0].attrs
        assert a["value"] == pytest.approx(value, rel=1e-8)
        assert (a["dataset"], a["split"], a["reference"]) == (b"fm", b"train", reference.encode())
        assert (a["images"], a["reference_images"]) == (8, 0)  # an .npz carries no count
        assert a["weights"] == inception_weights.encode()


def test_reader_and_report_show_it(fid_store, executable):
    path, reference, value = fid_store
    with featreuse.open_store(path) as s:
        frame = s.fid()
    assert list(frame[["dataset", "split", "reference"]].itertuples(index=False, name=None)) == [
        ("fm", "train", reference)]
    assert frame["fid"][0] == pytest.approx(value, rel=1e-8)
    assert frame["images"][0] == 8 and frame["reference_images"].isna()[0]

    run = subprocess.run([executable, "report", path, "--section", "fid", "--format", "json"],
                         capture_output=True, text=True, check=True)
    (section,) = json.loads(run.stdout)["sections"]
    row = dict(zip(section["columns"], section["rows"][0]))
    assert row["fid"] == pytest.approx(value, rel=1e-12)
    assert (row["dataset"], row["images"], row["reference images"]) == ("fm", 8, None)


def test_a_store_without_fid_reads_empty(store):
    frame = store.fid()
    assert frame.empty and "fid" in frame.columns


def test_a_rerun_keeps_it_and_a_new_value_replaces_it(fid_store, executable, inception_weights):
    path, reference, _ = fid_store
    rerun = subprocess.run([executable, "run", STUDY, "--store", path, "--threads", "1", "--strict"],
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    again = printed_fid(fid(executable, reference, "fm", "--max-images", "4", "--weights", inception_weights,
                            "--store", path))
    with featreuse.open_store(path) as s:
        frame = s.fid()
    assert len(frame) == 1 and frame["images"][0] == 4
    assert frame["fid"][0] == pytest.approx(again, rel=1e-8)


def test_a_store_being_written_is_refused_before_any_work(fid_store, executable, inception_weights):
    path, reference, _ = fid_store
    with open(path + ".lock", "a+") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `featreuse run` holds it
        refused = fid(executable, reference, "fm", "--max-images", "4", "--weights", inception_weights,
                      "--store", path)
    assert refused.returncode != 0
    assert path in refused.stderr and "FID" not in refused.stdout
    assert "FID fm" not in refused.stderr  # no statistics were computed first


def test_store_needs_a_dataset_second(fid_store, executable, inception_weights):
    path, reference, _ = fid_store
    refused = fid(executable, "fm", reference, "--weights", inception_weights, "--store", path)
    assert refused.returncode == 2
    assert "--store keeps the FID of a dataset" in refused.stderr and reference in refused.stderr
