"""Fixtures for the `bench report` tests: one results tree with known values, and one report of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli as bench
from .report_tree import write_tree
from .verdict_tree import write_verdict_tree


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


@pytest.fixture(scope="session")
def truth(tmp_path_factory) -> Path:
    """The results tree whose verdicts are known (verdict_tree.py)."""
    return write_verdict_tree(tmp_path_factory.mktemp("truth"))
