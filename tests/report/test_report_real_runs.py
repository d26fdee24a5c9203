"""`bench report` on runs that `bench run` really wrote (not a hand-made tree), before and after a real
`bench eval` appended recomputed rows to one of them."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.conftest import read_rows
from tests.conftest import run_cli as bench

EVALS = 4


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    # One variant, two seeds, four evaluations of 200 points each (exact W1 on 200 x 200 is quick).
    root = tmp_path_factory.mktemp("real")
    run = bench("run", "--variants", "gan", "--arch", "mlp", "--seeds", "0-1", "--steps", "8", "--evals", str(EVALS),
                "--batch-size", "16", "--n-eval", "200", "--results", str(root), "--name", "tiny", "--no-progress")
    assert run.returncode == 0, run.stderr[-2000:]
    return root / "tiny"


def test_report_reads_what_bench_run_writes(sweep):
    rep = bench("report", str(sweep), "--format", "csv,html")
    assert rep.returncode == 0, rep.stderr[-2000:]
    out = sweep / "report"
    runs = pd.read_csv(out / "run_list.csv")
    assert sorted(runs["variant"]) == ["gan", "gan"] and set(runs["status"]) == {"done"}
    final = pd.read_csv(out / "quality_final.csv")
    assert set(final["measure"]) == {"w1_exact", "modes", "hq_frac"} and set(final["n"]) == {2}
    per = pd.read_csv(out / "corr_runs.csv")
    assert set(per["estimate"]) == {"critic_gap", "critic_gap_train"}
    assert set(per.loc[per["analysis"] != "diff", "points"]) <= {EVALS}  # fewer where a value is missing
    verdicts = pd.read_csv(out / "verdicts.csv")
    assert set(verdicts["verdict"]) == {"too few runs"}  # 2 runs < 3
    floor = pd.read_csv(out / "floor.csv")
    assert floor.loc[0, "points per side"] == 200 and 0 < floor.loc[0, "floor_mean"] < floor.loc[0, "scale"]
    for name in ("1-curves", "2-scatter", "3-toy", "4-samples", "5-final"):
        assert (out / "figures" / f"{name}-8gaussians.png").stat().st_size > 0
    assert "W1 exact" in rep.stdout and (out / "report.html").stat().st_size > 0
    # what the runs cost, from their own timings: evaluation's share and each metric's share of it
    t = [json.loads(f.read_text())["timings"] for f in sorted(sweep.glob("*/run.json"))]
    cost = pd.read_csv(out / "cost.csv").set_index("dataset")
    total = cost.loc["all finished runs"]
    assert total["runs"] == 2
    assert total["eval_share"] == pytest.approx(sum(x["eval_s"] for x in t) / sum(x["train_s"] + x["eval_s"] for x in t))
    assert total["eval_w1_exact_share"] == pytest.approx(
        sum(x["eval_split_s"]["w1_exact"] for x in t) / sum(x["train_s"] + x["eval_s"] for x in t))
    parts = [c for c in cost.columns if c.startswith("eval_") and c.endswith("_share") and c != "eval_share"]
    assert {"eval_w1_exact_share", "eval_pictures_share", "eval_samples_share"} <= set(parts)
    assert sum(total[c] for c in parts) == pytest.approx(total["eval_share"], rel=0.05)  # the split covers it
    assert cost.loc["8gaussians", "runs"] == 2


def test_bench_eval_rows_merge_into_the_rows_of_their_steps(sweep, tmp_path):
    """`bench eval --metrics w_indep --step all` appends a w_indep-only row per step; the report merges
    each into the original row of its step: W1, modes and HQ stay in the final table, w_indep joins
    them, and the correlations with w_indep have every step."""
    folder = tmp_path / "tiny"
    shutil.copytree(sweep, folder, ignore=shutil.ignore_patterns("report"))
    run = next(p for p in sorted(folder.iterdir()) if p.name.startswith("gan-mlp-8gaussians-s0"))
    before = read_rows(run)
    ev = bench("eval", str(run), "--metrics", "w_indep", "--w-indep-steps", "5", "--step", "all")
    assert ev.returncode == 0, ev.stderr[-2000:]
    rows = read_rows(run)
    assert len(rows) == 2 * EVALS and all(r.get("recomputed") for r in rows[EVALS:])
    assert "w1_exact" not in rows[-1]  # the appended rows hold only what was recomputed

    rep = bench("report", str(folder), "--format", "csv", "--no-figures", "--quiet", "--out", str(tmp_path / "r"))
    assert rep.returncode == 0, rep.stderr[-2000:]
    out = tmp_path / "r"
    evals = pd.read_csv(out / "evals.csv")
    mine = evals[evals["run"].str.contains(run.name)].sort_values("step")
    assert list(mine["step"]) == [r["step"] for r in before]  # one row per step
    for key in ("w1_exact", "modes", "critic_gap"):  # the original values are kept
        assert list(mine[key]) == pytest.approx([r[key] for r in before])
    assert list(mine["w_indep"]) == pytest.approx([r["w_indep"] for r in rows[EVALS:]])
    final = pd.read_csv(out / "quality_final.csv")
    assert {"w1_exact", "modes", "hq_frac", "w_indep"} <= set(final["measure"])
    assert final.set_index("measure").loc["w1_exact", "n"] == 2  # the merged run still has its last W1
    per = pd.read_csv(out / "corr_runs.csv")
    w = per[(per["measure"] == "w_indep") & (per["analysis"] == "level") & per["run"].str.contains(run.name)]
    assert set(w["points"]) == {EVALS}
    long = pd.read_csv(out / "runs.csv", keep_default_na=False)
    src = long[long["run"].str.contains(run.name)].set_index(["step", "metric"])["source"]
    for r in rows[EVALS:]:
        assert src.loc[(r["step"], "w_indep")] == f"bench eval {r['recomputed_at']}"
    assert set(src.xs("w1_exact", level="metric")) == {"run"}
    listed = pd.read_csv(out / "run_list.csv").set_index("run")
    recomputed = sum(len([k for k in r if k not in ("step", "recomputed", "recomputed_at", "missing")])
                     for r in rows[EVALS:])  # w_indep, w_indep_steps, w_indep_n per step
    assert listed.loc[f"tiny/{run.name}", "recomputed"] == recomputed == 3 * EVALS
