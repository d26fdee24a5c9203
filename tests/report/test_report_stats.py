"""The report's numbers equal those computed independently from the tree's known values, and each
statistic of bench.report.stats equals scipy or an independent formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report import stats as S
from bench.report.leaderboard import leaderboard, pairwise
from bench.report.load import load
from bench.report.tables import fmt_ci, status_counts
from .report_tree import RUNS, series

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
    assert res.measures.quality_keys(res.metric_keys()) == ["fid", "is_mean", "kid_mean", "precision", "w1_exact", "modes",
                                               "hq_frac", "my_score"]


def test_status_counts(res):
    c = status_counts(res).set_index(["dataset", "variant", "arch"])
    gan = c.loc[("8gaussians", "gan", "mlp")]
    by_status = [gan[c] for c in ("runs", "done", "running", "interrupted", "diverged", "failed")]
    assert by_status == [6, 2, 1, 1, 1, 1]
    sps = np.array([10.0 + s for s in done_seeds(("8gaussians", "gan", "mlp"))])  # tree.py: 10 + seed
    assert gan["steps_per_s_mean"] == pytest.approx(sps.mean())
    assert gan["steps_per_s_std"] == pytest.approx(sps.std(ddof=1))


def test_leaderboard_means_intervals_and_ranks_over_finished_runs_only(res):
    board = leaderboard(res, {}, set()).set_index(["dataset", "arch", "variant", "measure", "which"])
    for group, keys in GROUPS.items():
        seeds = done_seeds(group)
        for key in keys:
            per_seed = [series(group[0], group[1], s)[key] for s in seeds]
            final = np.array([v[-1] for v in per_seed])
            row = board.loc[(group[0], group[2], group[1], key, "final")]
            lo, hi = stats.t.interval(0.95, len(final) - 1, loc=final.mean(), scale=stats.sem(final))
            assert row["n"] == len(seeds)
            assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx((final.mean(), lo, hi))
            if key == "my_score":  # direction unknown: no best value, no rank
                assert (group[0], group[2], group[1], key, "best") not in board.index and pd.isna(row["rank"])
                continue
            best = np.array([v.min() if key in LOWER else v.max() for v in per_seed])
            assert board.loc[(group[0], group[2], group[1], key, "best"), "mean"] == pytest.approx(best.mean())
    # ranks among the toy variants: 1 = best mean final value
    toy = board.xs(("8gaussians", "mlp"), level=("dataset", "arch"))
    for key in ("w1_exact", "modes"):
        means = {v: toy.loc[(v, key, "final"), "mean"] for v in ("wgan", "gan")}
        best = min(means, key=means.get) if key in LOWER else max(means, key=means.get)
        assert toy.loc[(best, key, "final"), "rank"] == 1


def test_values_print_with_consistent_precision():
    assert fmt_ci(6.6667, 6.0891, 7.2443) == "6.67 [6.09, 7.24]"  # two significant digits of the half-width
    assert fmt_ci(0.05123, 0.04011, 0.06235) == "0.051 [0.040, 0.062]"
    assert fmt_ci(1234.5, 1000.0, 1469.0) == "1234 [1000, 1469]"
    assert fmt_ci(0.5, np.nan, np.nan) == "0.5" and fmt_ci(np.nan, 0, 1) == "–"


def test_pairwise_permutation_tests_equal_exact_enumeration(truth):
    """Exact two-sided permutation p of a difference in means, enumerated here with itertools."""
    import itertools

    from .verdict_tree import SEEDS as TSEEDS, series as tseries

    res = load([truth])
    pairs, notes = pairwise(res)
    row = pairs[(pairs["measure"] == "w1_exact") & (pairs["a"] == "lsgan") & (pairs["b"] == "wgan")].iloc[0]
    a = np.array([tseries("lsgan", s)["w1_exact"][-1] for s in range(TSEEDS["lsgan"])])
    b = np.array([tseries("wgan", s)["w1_exact"][-1] for s in range(TSEEDS["wgan"])])
    pooled, observed = np.concatenate([a, b]), a.mean() - b.mean()
    diffs = []
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        mask = np.zeros(len(pooled), bool)
        mask[list(idx)] = True
        diffs.append(pooled[mask].mean() - pooled[~mask].mean())
    diffs = np.array(diffs)
    eps = 1e-12 * max(1, abs(observed))
    p = min(1.0, 2 * min((diffs >= observed - eps).mean(), (diffs <= observed + eps).mean()))
    assert row["p"] == pytest.approx(p, abs=1e-12)
    assert row["min_p"] == pytest.approx(2 / math.comb(12, 6))
    fam = pairs[(pairs["measure"] == "w1_exact")]
    np.testing.assert_allclose(fam["p_holm"], S.holm(fam["p"]))
    # 3 vs 6 seeds: 2 / C(9, 3) = 0.024 > 0.05 / 10 pairs, yet 6 vs 6 can: the family has no impossibility note
    assert not any("w1_exact" in n or "W1 exact" in n for n in notes)
    three = pairwise(res.without({r: "test" for r in res.runs["run"] if "-s3" in r or "-s4" in r or "-s5" in r}))
    assert any("no pair can be significant" in n for n in three[1])


# -- the statistics, each against scipy or an independent formula ------------------------------------
@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
def test_vectorized_rank_correlations_equal_scipy():
    rng = np.random.default_rng(0)
    for n in (3, 4, 7, 30):
        x = rng.integers(0, 4, (20, n)).astype(float)  # many ties
        y = x + rng.integers(0, 3, (20, n))
        want_rho = [stats.spearmanr(a, b).statistic for a, b in zip(x, y)]
        want_tau = [stats.kendalltau(a, b).statistic for a, b in zip(x, y)]
        np.testing.assert_allclose(S.spearman(x, y), want_rho, atol=1e-12)
        np.testing.assert_allclose(S.kendall(x, y), want_tau, atol=1e-12)
        np.testing.assert_allclose(S.spearman(x.T, y.T, axis=0), want_rho, atol=1e-12)


def test_partial_spearman_equals_scipy_on_rank_residuals():
    rng = np.random.default_rng(1)
    for n in (5, 10, 40):
        t = np.arange(n, dtype=float)
        x, y = t + rng.normal(size=n) * 3, -t + rng.normal(size=n) * 3
        rt = stats.rankdata(t)
        res = [stats.rankdata(v) - np.polyval(np.polyfit(rt, stats.rankdata(v), 1), rt) for v in (x, y)]
        assert S.partial_spearman(x, y, t) == pytest.approx(stats.pearsonr(*res).statistic, abs=1e-12)


def test_fisher_mean_equals_a_t_interval_of_z():
    r = np.array([0.2, 0.5, -0.1, 0.7, 1.0])
    with np.errstate(divide="ignore"):
        z = np.clip(np.arctanh(np.clip(r, -1, 1)), -S.Z_CAP, S.Z_CAP)
    lo, hi = stats.t.interval(0.95, len(z) - 1, loc=z.mean(), scale=stats.sem(z))
    m = S.fisher_mean(r)
    assert (m.estimate, m.low, m.high, m.n) == pytest.approx((np.tanh(z.mean()), np.tanh(lo), np.tanh(hi), 5))
    assert m.p == pytest.approx(stats.ttest_1samp(z, 0).pvalue)
    one = S.fisher_mean(np.array([0.3, np.nan]))
    assert one.n == 1 and np.isnan(one.low) and np.isnan(one.p)


def test_holm_by_hand():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.005])
    # sorted: 0.005 (x4), 0.01 (x3), 0.03 (x2), 0.04 (x1) -> 0.02, 0.03, 0.06, 0.06 (monotone)
    np.testing.assert_allclose(S.holm(p), [0.03, 0.06, np.nan, 0.06, 0.02])


def test_detectable_rho_has_the_stated_power():
    """At the returned |rho|, a simulated design (per-run z with variance 1.06 / (m - 4), n runs, t-test)
    rejects in about 80 % of 20,000 draws."""
    n, m, alpha = 5, 10, 0.05
    rho = S.detectable_rho(n, m, alpha)
    rng = np.random.default_rng(0)
    z = np.arctanh(rho) + rng.normal(scale=np.sqrt(1.06 / (m - 4)), size=(20_000, n))
    power = (stats.ttest_1samp(z, 0, axis=1).pvalue < alpha).mean()
    assert power == pytest.approx(0.8, abs=0.015)
    assert S.detectable_rho(n, m, alpha / 36) > rho  # a stricter level needs a larger correlation
    assert np.isnan(S.detectable_rho(1, m, alpha))


def test_a_shared_curved_trend_is_not_called_tracking():
    """Why the verdict reads the partial rho: estimate and W1 that share only a curved trend with training
    (fast early, slow late; each run at its own speed) and have independent noise. Over 100 simulated sweeps
    of 5 runs x 10 evaluations, the verdict's test (per-run partial rho, t-test on Fisher z) rejects at
    about its nominal 5 %; the same test on levels or on step-to-step changes rejects almost always."""
    rng = np.random.default_rng(0)
    t = np.arange(30, 301, 30, dtype=float)
    rejected = {"partial": 0, "diff": 0, "level": 0}
    for _ in range(100):
        r = {k: [] for k in rejected}
        for _ in range(5):
            k = rng.uniform(40, 120)
            w1 = 0.3 + 1.2 * np.exp(-t / k) + rng.normal(scale=0.04, size=len(t))
            gap = 0.1 + 2.0 * np.exp(-t / k) + rng.normal(scale=0.08, size=len(t))
            r["partial"].append(S.partial_spearman(gap, w1, t))
            r["diff"].append(stats.spearmanr(np.diff(gap), np.diff(w1)).statistic)
            r["level"].append(stats.spearmanr(gap, w1).statistic)
        for key, values in r.items():
            rejected[key] += S.fisher_mean(np.array(values)).p < S.ALPHA
    assert rejected["partial"] <= 12  # binomial(100, 0.05): 12 or more has probability < 0.1 %
    assert rejected["diff"] >= 60 and rejected["level"] >= 90


def test_long_setting_names_in_sample_titles_are_wrapped_at_spaces():
    from bench.report.sample_figures import title_lines

    long = "wgan · mlp · warmup_critic_steps=5,warmup_gen_steps=0·4cc455"
    lines = title_lines(long).split("\n")
    assert lines == ["wgan · mlp ·", "warmup_critic_steps=5,warmup_gen_steps=0·4cc455"]
    assert title_lines("gan · mlp") == "gan · mlp"
