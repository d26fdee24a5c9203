"""Shared test helpers: run the CLI as a user would, in a subprocess importing this checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Classifiers trained on first use and torch-fidelity's reference statistics go to a temporary
    $BENCH_CACHE (inherited by CLI subprocesses), never into the user's ~/.cache/gan-bench."""
    os.environ["BENCH_CACHE"] = str(tmp_path_factory.mktemp("bench-cache"))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def read_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def cli_inprocess(capsys):
    """Call the CLI's entry point in this process (no interpreter start-up): -> (exit code, stdout, stderr)."""
    from bench.cli import main

    def call(*args: str):
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code or 0
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


@pytest.fixture
def one_thread():
    """Tests that compare numbers across processes run torch on one thread (as the children do)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
