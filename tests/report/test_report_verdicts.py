"""The report's verdicts on a results tree whose truth is known (verdict_tree.py), through the CLI as a
user runs it, and the statistics behind them recomputed here independently with scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.conftest import run_cli as bench
from .verdict_tree import COLLAPSED, SEEDS, STEPS, series


@pytest.fixture(scope="module")
def verdict_report(truth, tmp_path_factory):
    out = tmp_path_factory.mktemp("verdict-report")
    proc = bench("report", str(truth), "--out", str(out), "--format", "csv,md", "--no-figures")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def _verdicts(out) -> pd.DataFrame:
    v = pd.read_csv(out / "verdicts.csv")
    return v[v["measure"] == "w1_exact"].set_index(["variant", "estimate"])


def _partial(x, y, t) -> float:
    """Partial Spearman of x and y given t, written independently of the report: the partial
    correlation from the inverse of the rank correlation matrix (as pingouin's partial_corr)."""
    ranks = np.column_stack([stats.rankdata(v) for v in (x, y, t)])
    try:
        p = np.linalg.inv(np.corrcoef(ranks, rowvar=False))
    except np.linalg.LinAlgError:  # a variable monotone in t: no partial correlation
        return np.nan
    return -p[0, 1] / np.sqrt(p[0, 0] * p[1, 1])


def _fisher(r):
    with np.errstate(divide="ignore"):
        z = np.clip(np.arctanh(np.clip(r, -1, 1)), -3, 3)
    lo, hi = stats.t.interval(0.95, len(z) - 1, loc=z.mean(), scale=stats.sem(z))
    return np.tanh(z.mean()), np.tanh(lo), np.tanh(hi), stats.ttest_1samp(z, 0).pvalue


def test_a_tracks_b_no_evidence_c_opposite_d_trend_is_not_tracking(verdict_report):
    out, proc = verdict_report
    v = _verdicts(out)
    assert v.loc[("wgan", "critic_gap"), "verdict"] == "tracks"  # (a)
    assert v.loc[("sngan", "critic_gap"), "verdict"] == "no evidence"  # (b)
    assert v.loc[("wgan-gp", "critic_gap"), "verdict"] == "opposite"  # (c)
    assert v.loc[("wgan-gp", "critic_gap"), "mean"] < 0
    # (d) a shared trend: level rho near 1, partial rho's interval holds 0, and no verdict of tracking
    assert v.loc[("lsgan", "critic_gap"), "verdict"] == "no evidence"
    lsgan = v.loc[("lsgan", "critic_gap")]
    assert lsgan["ci_low"] < 0 < lsgan["ci_high"]
    agg = pd.read_csv(out / "corr_summary.csv")
    level = agg[(agg["variant"] == "lsgan") & (agg["estimate"] == "critic_gap") & (agg["measure"] == "w1_exact")
                & (agg["analysis"] == "level") & (agg["stat"] == "spearman")].iloc[0]
    assert level["mean"] > 0.9 and level["ci_low"] > 0.5
    assert "Does the critic's estimate track quality?" in proc.stdout and "Design: " in proc.stdout


def test_verdict_numbers_equal_an_independent_computation(verdict_report):
    out, _ = verdict_report
    v = pd.read_csv(out / "verdicts.csv")
    per = pd.read_csv(out / "corr_runs.csv")
    ps = []
    for variant, n in SEEDS.items():
        for est in ("critic_gap", "critic_gap_train"):
            r = np.array([_partial(series(variant, s)[est], series(variant, s)["w1_exact"], np.array(STEPS, float))
                          for s in range(n)])
            got = per[(per["variant"] == variant) & (per["estimate"] == est) & (per["measure"] == "w1_exact")
                      & (per["analysis"] == "partial")].sort_values("seed")
            finite = np.isfinite(r)
            np.testing.assert_array_equal(np.isfinite(got["value"].to_numpy(float)), finite)
            np.testing.assert_allclose(got["value"].to_numpy(float)[finite], r[finite], atol=1e-10)
            mean, lo, hi, p = _fisher(r[finite])
            row = v[(v["variant"] == variant) & (v["estimate"] == est) & (v["measure"] == "w1_exact")].iloc[0]
            assert (row["mean"], row["ci_low"], row["ci_high"], row["p"]) == pytest.approx((mean, lo, hi, p), abs=1e-10)
            assert row["n"] == finite.sum()
    # Holm over every tested row of the table, recomputed by hand
    p = v["p"].to_numpy(float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.minimum(1, np.maximum.accumulate([(m - i) * p[j] for i, j in enumerate(order)]))
    np.testing.assert_allclose(v["p_holm"].to_numpy(float)[order], adjusted, atol=1e-12)


def test_per_run_level_and_diff_statistics_equal_scipy(verdict_report):
    out, _ = verdict_report
    per = pd.read_csv(out / "corr_runs.csv").set_index(["run", "estimate", "measure", "analysis", "stat"])
    for variant, seed in [("wgan", 0), ("lsgan", 3), ("wgan-gp", 5)]:
        s = series(variant, seed)
        run = f"truth/{variant}-mlp-8gaussians-s{seed}"
        for analysis, prep in (("level", lambda a: a), ("diff", np.diff)):
            x, y = prep(s["critic_gap"]), prep(s["w1_exact"])
            rho = per.loc[(run, "critic_gap", "w1_exact", analysis, "spearman"), "value"]
            tau = per.loc[(run, "critic_gap", "w1_exact", analysis, "kendall"), "value"]
            assert rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
            assert tau == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_e_three_seeds_are_too_few_for_the_across_runs_analysis_said_once(verdict_report):
    out, proc = verdict_report
    across = pd.read_csv(out / "corr_across.csv")
    assert "ebgan" not in set(across["variant"]) and set(across["variant"]) == {"wgan", "sngan", "wgan-gp", "lsgan"}
    note = "Across runs at matched steps needs at least 5 finished runs"
    md = (out / "report.md").read_text()
    assert md.count(note) == 1 and proc.stdout.count(note) == 1
    # the across-runs value recomputed: mean over steps of the correlation across the 6 seeds
    G = np.stack([series("wgan", s)["critic_gap"] for s in range(6)])
    Q = np.stack([series("wgan", s)["w1_exact"] for s in range(6)])
    want = np.mean([stats.spearmanr(G[:, j], Q[:, j]).statistic for j in range(len(STEPS))])
    row = across[(across["variant"] == "wgan") & (across["estimate"] == "critic_gap")
                 & (across["measure"] == "w1_exact") & (across["stat"] == "spearman")].iloc[0]
    assert row["mean"] == pytest.approx(want, abs=1e-12) and row["n"] == 6 and row["k"] == len(STEPS)
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]


def test_f_negative_and_collapsed_runs_are_flagged_and_counted(verdict_report):
    out, _ = verdict_report
    runs = pd.read_csv(out / "run_list.csv", keep_default_na=False).set_index("run_id")
    for s in range(SEEDS["wgan-gp"]):  # (c): a W1 estimate below zero at every evaluation
        r = runs.loc[f"wgan-gp-mlp-8gaussians-s{s}"]
        assert r["negative"] and f"< 0 at {len(STEPS)} of {len(STEPS)} evaluations" in r["flags"]
    collapsed = runs.loc[f"{COLLAPSED[0]}-mlp-8gaussians-s{COLLAPSED[1]}"]
    assert collapsed["collapse"] and "0 modes" in collapsed["flags"]
    assert runs["collapse"].sum() == 1 and runs["negative"].sum() == SEEDS["wgan-gp"]
    assert (runs.loc[runs.index.str.startswith("wgan-mlp"), "flags"] == "").all()  # (a) is clean
    status = pd.read_csv(out / "status.csv").set_index("variant")
    assert status.loc["wgan-gp", "negative"] == 6 and status.loc["sngan", "collapse"] == 1
    v = _verdicts(out)
    assert v.loc[("wgan-gp", "critic_gap"), "flagged"] == 6 and v.loc[("sngan", "critic_gap"), "flagged"] == 1
    md = (out / "report.md").read_text()
    assert "6 (6 flagged)" in md and "6 (1 flagged)" in md


def test_exclude_flagged_recomputes_without_them(truth, tmp_path, cli_inprocess):
    out = tmp_path / "r"
    code, _, err = cli_inprocess("report", str(truth), "--out", str(out), "--format", "csv", "--no-figures", "--quiet",
                                 "--exclude-flagged")
    assert code == 0, err
    v = _verdicts(out)
    assert v.loc[("wgan-gp", "critic_gap"), "verdict"] == "too few runs" and v.loc[("wgan-gp", "critic_gap"), "n"] == 0
    assert v.loc[("sngan", "critic_gap"), "n"] == 5 and v.loc[("sngan", "critic_gap"), "flagged"] == 0
    runs = pd.read_csv(out / "run_list.csv")
    assert len(runs) == sum(SEEDS.values())  # every run still listed
    assert pd.read_csv(out / "status.csv").set_index("variant").loc["wgan-gp", "excluded"] == 6
    board = pd.read_csv(out / "quality_final.csv")
    assert "wgan-gp" not in set(board["variant"])


def test_floor_and_scale_equal_an_independent_computation(verdict_report):
    """The W1 noise floor of 8gaussians at N_EVAL points: the data set's own sampler, and exact W1 as an
    optimal assignment (scipy.optimize.linear_sum_assignment; equal sizes and weights), not POT."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    from bench.data.registry import build_dataset
    from bench.report import floor as F
    from .verdict_tree import N_EVAL

    data = build_dataset("8gaussians")
    w, scale = [], []
    for r in range(F.PAIRS):
        x = data.heldout(2 * N_EVAL, F.FLOOR_SEED + r).double().numpy()
        cost = cdist(x[:N_EVAL], x[N_EVAL:])
        i, j = linear_sum_assignment(cost)
        w.append(cost[i, j].mean())
        scale.append(np.linalg.norm(x[:N_EVAL] - x[:N_EVAL].mean(0), axis=1).mean())
    got = pd.read_csv(verdict_report[0] / "floor.csv").iloc[0]
    assert got["points per side"] == N_EVAL
    assert got["floor_mean"] == pytest.approx(np.mean(w), rel=1e-9)
    assert got["floor_q95"] == pytest.approx(np.percentile(w, 95), rel=1e-9)
    assert got["scale"] == pytest.approx(np.mean(scale), rel=1e-9)
    assert "computed by bench report" in got["how"]
