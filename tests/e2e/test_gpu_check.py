"""benchmarks.gpu_check's own machinery, on the CPU: parts in their own processes, time limits that kill
a part and keep the others, the report rewritten after each part, results parsed into Markdown tables."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.gpu_check import RESULT
from tests.conftest import REPO


def gpu_check(tmp_path, *args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess, str]:
    out = tmp_path / "check.md"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--device", "cpu", "--smoke",
                          "--out", str(out), "--work", str(tmp_path / "work"), *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    return res, out.read_text() if out.exists() else ""


def test_a_part_past_its_limit_is_killed_and_the_report_keeps_the_others(tmp_path):
    res, report = gpu_check(tmp_path, "--parts", "environment,toy", "--limits", "toy=1")
    assert res.returncode == 1, res.stderr
    assert "## Environment" in report and "| torch, CUDA, cuDNN |" in report and "| POT |" in report
    assert "## Toy WGAN-GP" in report and "**timed out** after 1 s" in report
    assert "Parts that failed: toy." in report
    assert report.strip() in res.stdout  # printed as well as written


def test_the_benchmark_part_turns_its_rows_into_a_table_with_the_targets(tmp_path):
    res, report = gpu_check(tmp_path, "--parts", "toy")
    assert res.returncode == 0, report + res.stderr
    assert "| plain loop (losses logged every step) |" in report
    assert "| bench run --compile none |" in report and "| bench run --compile none --pack 2 |" in report
    assert "one run, CUDA graphs: not measured" in report  # (no graphs on the CPU: said, not faked)


def test_a_budget_too_small_for_a_part_says_so_without_running_it(tmp_path):
    res, report = gpu_check(tmp_path, "--parts", "environment,toy", "--budget-s", "0")
    assert res.returncode == 1
    assert report.count("not run: ") == 2


def test_bad_options_are_one_line_errors(tmp_path):
    res, _ = gpu_check(tmp_path, "--parts", "toy,nope")
    assert res.returncode == 2 and "unknown part(s) nope" in res.stderr
    res, _ = gpu_check(tmp_path, "--limits", "toy:5")
    assert res.returncode == 2 and "malformed --limits" in res.stderr


def test_test_results_are_read_from_plain_and_xdist_output():
    log = ("tests/unit/test_capture.py::test_a[graph-gan] PASSED [ 10%]\n"
           "[gw3] [ 50%] FAILED tests/unit/test_capture.py::test_b[compile-sngan]\n"
           "[gw0] [ 60%] PASSED tests/unit/test_fallback.py::test_c\n")
    found = {(m.group(2) or m.group(3)): (m.group(1) or m.group(4)) for m in RESULT.finditer(log)}
    assert found == {"tests/unit/test_capture.py::test_a[graph-gan]": "PASSED",
                     "tests/unit/test_capture.py::test_b[compile-sngan]": "FAILED",
                     "tests/unit/test_fallback.py::test_c": "PASSED"}


@pytest.mark.slow
def test_the_end_to_end_part_runs_the_cli_and_reports(tmp_path):
    res, report = gpu_check(tmp_path, "--parts", "e2e", "--limits", "e2e=600", "--budget-s", "900", timeout=900)
    assert res.returncode == 0, report
    assert "| wgan-mlp-8gaussians-s0" in report and "| done |" in report and "wrote e2e/report/report.md" in report
