"""Fixtures for the `bench report` tests: one results tree with known values, and one report of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tree import write_tree

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -m bench ...` from this checkout, as a user would run it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=cwd or REPO,
                          env=env, timeout=timeout)


@pytest.fixture(scope="session")
def tree(tmp_path_factory) -> Path:
    return write_tree(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def report(tree, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The full report (all formats, figures) of the tree, made once through the CLI."""
    out = tmp_path_factory.mktemp("report") / "out"
    proc = bench("report", str(tree), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc
