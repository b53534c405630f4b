"""`pip install ./python` gives an importable package and the featreuse-figures command.

Offline (no build isolation: Debian's setuptools builds it) into a throwaway
venv that sees Debian's h5py, numpy and pandas, from a copy of python/ so the
checkout gets no build folders.
"""

import os
import shutil
import subprocess
import sys

from conftest import REPO


def test_pip_install(tmp_path):
    source = tmp_path / "python"
    shutil.copytree(os.path.join(REPO, "python"), source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-build-isolation", "--no-deps",
                          "--disable-pip-version-check", str(source)],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    check = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import featreuse, featreuse.figures; print(featreuse.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert check.returncode == 0, check.stderr
    assert str(venv) in check.stdout  # the installed copy, not the checkout
    figures = subprocess.run([str(venv / "bin" / "featreuse-figures"), "--help"], capture_output=True, text=True,
                             timeout=60)
    assert figures.returncode == 0 and "--where" in figures.stdout
