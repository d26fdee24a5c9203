"""`bench report` on runs that `bench run` really wrote (not a hand-made tree): the formats agree."""

from __future__ import annotations

import pandas as pd

from tests.conftest import run_cli as bench


def test_report_reads_what_bench_run_writes(tmp_path):
    # One variant, two seeds, three evaluations: each evaluation solves a 2,000 x 2,000 exact W1.
    run = bench("run", "--variants", "gan", "--arch", "mlp", "--seeds", "0-1", "--steps", "6", "--evals", "3",
                "--batch-size", "16", "--results", str(tmp_path), "--name", "tiny", "--no-progress")
    assert run.returncode == 0, run.stderr[-2000:]
    rep = bench("report", str(tmp_path / "tiny"), "--format", "csv,html")
    assert rep.returncode == 0, rep.stderr[-2000:]
    out = tmp_path / "tiny" / "report"
    runs = pd.read_csv(out / "run_list.csv")
    assert sorted(runs["variant"]) == ["gan", "gan"] and set(runs["status"]) == {"done"}
    final = pd.read_csv(out / "quality_final.csv")
    assert set(final["measure"]) == {"w1_exact", "modes", "hq_frac"} and set(final["n"]) == {2}
    within = pd.read_csv(out / "corr_within.csv")
    assert set(within["n"]) == {6}  # 3 evaluations x 2 seeds
    for name in ("1-curves", "2-scatter", "3-toy", "4-samples", "5-final"):
        assert (out / "figures" / f"{name}-8gaussians.png").stat().st_size > 0
    assert "W1 exact" in rep.stdout and (out / "report.html").stat().st_size > 0
