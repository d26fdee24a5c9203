"""The report's numbers equal those computed independently from the tree's known values."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report import correlation as C
from bench.report.load import load
from bench.report.measures import quality_keys
from bench.report.tables import quality_display, quality_summary, status_counts
from .report_tree import RUNS, STEPS, series

GROUPS = {("8gaussians", "wgan", "mlp"): ["w1_exact", "modes", "hq_frac", "my_score"],
          ("8gaussians", "gan", "mlp"): ["w1_exact", "modes", "hq_frac", "my_score"],
          ("cifar10", "wgan-gp", "dcgan"): ["fid", "is_mean", "kid_mean"]}
LOWER = {"w1_exact", "fid", "kid_mean"}


def done_seeds(group):
    return [s for d, v, a, s, status in RUNS if (d, v, a) == group and status == "done"]


@pytest.fixture(scope="module")
def res(tree):
    return load([tree])


def test_runs_are_labelled_and_replaced_runs_left_out(res):
    status = dict(zip(res.runs["run_id"], res.runs["status"]))
    expected = {f"{v}-{a}-{d}-s{s}": st for d, v, a, s, st in RUNS}
    assert status == expected
    assert len(res.ignored) == 1 and ".replaced-" in res.ignored[0][0].name
    failed = res.runs.set_index("run_id").loc["gan-mlp-8gaussians-s3"]
    assert failed["error"].startswith("RuntimeError: boom")
    # The long frame holds every numeric value of every run, and the reason for each missing one.
    cifar = res.long[res.long["dataset"] == "cifar10"]
    precision = cifar[cifar["metric"] == "precision"]
    assert set(precision["missing"]) == {"no feature extractor weights for precision/recall"}
    assert precision["value"].isna().all()
    one = res.long[(res.long["run_id"] == "wgan-mlp-8gaussians-s1") & (res.long["metric"] == "w1_exact")]
    np.testing.assert_allclose(one.sort_values("step")["value"], series("8gaussians", "wgan", 1)["w1_exact"])


def test_quality_keys_skip_diagnostics_and_uncertainties(res):
    assert quality_keys(res.metric_keys()) == ["fid", "is_mean", "kid_mean", "precision", "w1_exact", "modes",
                                               "hq_frac", "my_score"]


def test_status_counts(res):
    c = status_counts(res).set_index(["dataset", "variant", "arch"])
    gan = c.loc[("8gaussians", "gan", "mlp")]
    by_status = [gan[c] for c in ("runs", "done", "running", "interrupted", "diverged", "failed")]
    assert by_status == [6, 2, 1, 1, 1, 1]
    sps = np.array([10.0 + s for s in done_seeds(("8gaussians", "gan", "mlp"))])  # tree.py: 10 + seed
    assert gan["steps_per_s_mean"] == pytest.approx(sps.mean())
    assert gan["steps_per_s_std"] == pytest.approx(sps.std(ddof=1))


def test_final_and_best_means_over_finished_runs_only(res):
    summary = quality_summary(res).set_index(["dataset", "variant", "arch", "measure", "which"])
    for group, keys in GROUPS.items():
        seeds = done_seeds(group)
        for key in keys:
            per_seed = [series(group[0], group[1], s)[key] for s in seeds]
            final = np.array([v[-1] for v in per_seed])
            row = summary.loc[(*group, key, "final")]
            assert row["n"] == len(seeds)
            assert row["mean"] == pytest.approx(final.mean())
            assert row["std"] == pytest.approx(final.std(ddof=1))
            best = summary.loc[(*group, key, "best")]
            if key == "my_score":  # direction unknown: no best value
                assert best["n"] == 0
                continue
            b = np.array([v.min() if key in LOWER else v.max() for v in per_seed])
            assert best["mean"] == pytest.approx(b.mean())
            assert best["std"] == pytest.approx(b.std(ddof=1))


def test_display_shows_mean_pm_std_and_percent(res):
    counts, summary = status_counts(res), quality_summary(res)
    table = quality_display(summary, counts, "final").set_index(["dataset", "variant", "arch"])
    w1 = np.array([series("8gaussians", "wgan", s)["w1_exact"][-1] for s in (0, 1, 2)])
    assert table.loc[("8gaussians", "wgan", "mlp"), "W1 exact ↓"] == f"{w1.mean():.4g} ± {w1.std(ddof=1):.2g}"
    hq = 100 * np.array([series("8gaussians", "wgan", s)["hq_frac"][-1] for s in (0, 1, 2)])
    assert table.loc[("8gaussians", "wgan", "mlp"), "HQ % ↑"] == f"{hq.mean():.4g} ± {hq.std(ddof=1):.2g}"
    assert table.loc[("8gaussians", "wgan", "mlp"), "n"] == 3
    assert "precision ↑" not in table.columns  # no finished run has it
    assert table.loc[("cifar10", "wgan-gp", "dcgan"), "W1 exact ↓"] == "–"


# -- correlations -----------------------------------------------------------------------------------
def _scipy_stat(stat):
    fn = stats.spearmanr if stat == "spearman" else stats.kendalltau
    return lambda a, b: fn(a, b).statistic


def _expected_interval(data, statistic, paired, n):
    """scipy.stats.bootstrap with scipy's own spearmanr/kendalltau, one resample at a time; the
    percentile interval of the resamples that have a correlation (as the report's caption says)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant resamples: scipy warns and returns NaN
        r = stats.bootstrap(data, statistic, paired=paired, vectorized=False, n_resamples=C.N_RESAMPLES,
                            batch=C._batch(n), method="percentile", rng=np.random.default_rng(C.SEED))
    d = np.asarray(r.bootstrap_distribution)
    d = d[np.isfinite(d)]
    return np.percentile(d, [2.5, 97.5]), len(d)


@pytest.fixture(scope="module")
def corr(res):
    return C.correlations(res).set_index(["dataset", "variant", "arch", "measure", "analysis", "stat"])


# The report's own intervals come from a vectorized statistic; the expected ones from scipy's
# spearmanr / kendalltau called once per resample. That is slow, so the comparison of the two runs at
# SMALL_N resamples; the report's tables (N_RESAMPLES) are checked against the same function.
SMALL_N = 300


@pytest.mark.parametrize("stat", ["spearman", "kendall"])
@pytest.mark.parametrize("analysis", ["within", "diff"])
def test_pooled_correlations_match_scipy(corr, stat, analysis, monkeypatch):
    group, key = ("8gaussians", "wgan", "mlp"), "w1_exact"
    runs = [series(*group[:2], s) for s in done_seeds(group)]
    prep = (lambda v: np.diff(v)) if analysis == "diff" else (lambda v: v)
    x = np.concatenate([prep(r["critic_gap"]) for r in runs])
    y = np.concatenate([prep(r[key]) for r in runs])
    row = corr.loc[(*group, key, analysis, stat)]
    assert row["n"] == len(x) == 3 * (len(STEPS) - (analysis == "diff"))
    assert row["estimate"] == pytest.approx(_scipy_stat(stat)(x, y), abs=1e-12)
    same = C.pooled(stat, x, y, "pairs")
    assert (row["ci_low"], row["ci_high"]) == (same.ci_low, same.ci_high)
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]

    monkeypatch.setattr(C, "N_RESAMPLES", SMALL_N)
    small = C.pooled(stat, x, y, "pairs")
    (lo, hi), _ = _expected_interval((x, y), _scipy_stat(stat), True, len(x))
    assert (small.ci_low, small.ci_high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))


@pytest.mark.parametrize("stat", ["spearman", "kendall"])
def test_across_runs_at_matched_steps_match_scipy(corr, stat, monkeypatch):
    group, key = ("cifar10", "wgan-gp", "dcgan"), "fid"
    runs = [series(*group[:2], s) for s in done_seeds(group)]
    G = np.stack([r["critic_gap"] for r in runs])  # [runs, steps], runs in seed order
    Q = np.stack([r[key] for r in runs])
    f = _scipy_stat(stat)
    row = corr.loc[(*group, key, "across", stat)]
    assert (row["n"], row["k"]) == (4, len(STEPS))
    assert row["estimate"] == pytest.approx(np.mean([f(G[:, j], Q[:, j]) for j in range(len(STEPS))]), abs=1e-12)
    same = C.across(stat, G, Q)
    assert (row["ci_low"], row["ci_high"]) == (same.ci_low, same.ci_high)

    def mean_over_steps(idx):
        idx = idx.astype(int)
        vals = [f(G[idx, j], Q[idx, j]) for j in range(len(STEPS))]
        return np.nanmean(vals) if np.isfinite(vals).any() else np.nan

    monkeypatch.setattr(C, "N_RESAMPLES", SMALL_N)
    small = C.across(stat, G, Q)
    (lo, hi), finite = _expected_interval((np.arange(4),), mean_over_steps, False, 4 * len(STEPS))
    assert finite >= 0.9 * SMALL_N
    assert (small.ci_low, small.ci_high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))


def test_small_samples_are_missing_with_a_reason(corr):
    gan = corr.loc[("8gaussians", "gan", "mlp", "w1_exact", "across", "spearman")]
    assert gan["estimate"] is None or pd.isna(gan["estimate"])
    assert "2 runs < 3" in gan["reason"]
    # Three runs: an estimate, but too many degenerate resamples (all three the same run) for an interval.
    wgan = corr.loc[("8gaussians", "wgan", "mlp", "w1_exact", "across", "spearman")]
    assert np.isfinite(wgan["estimate"]) and pd.isna(wgan["ci_low"]) and "interval missing" in wgan["reason"]
    assert C.pooled("spearman", np.arange(2.0), np.arange(2.0), "pairs").reason == "2 pairs < 3"
    const = C.pooled("kendall", np.arange(5.0), np.ones(5), "pairs")
    assert const.estimate is None and "constant" in const.reason


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
def test_vectorized_statistics_equal_scipy():
    rng = np.random.default_rng(0)
    for n in (3, 4, 7, 30):
        x = rng.integers(0, 4, (20, n)).astype(float)  # many ties
        y = x + rng.integers(0, 3, (20, n))
        want_rho = [stats.spearmanr(a, b).statistic for a, b in zip(x, y)]
        want_tau = [stats.kendalltau(a, b).statistic for a, b in zip(x, y)]
        np.testing.assert_allclose(C.spearman(x, y), want_rho, atol=1e-12)
        np.testing.assert_allclose(C.kendall(x, y), want_tau, atol=1e-12)
        np.testing.assert_allclose(C.spearman(x.T, y.T, axis=0), want_rho, atol=1e-12)
