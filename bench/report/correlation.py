"""Does the critic's estimate track sample quality? Rank correlations between `critic_gap` and
each quality measure, three ways, each with a percentile-bootstrap 95 % interval.

  within  within runs over their evaluation steps: all (estimate, quality) pairs of a group's
          finished runs, pooled over seeds.
  diff    the same on step-to-step changes: within each run, the differences between consecutive
          evaluation steps, pooled over seeds. Both quantities drift with training time, which alone
          can correlate their levels; their changes correlate only if they move together.
  across  across runs at matched steps: at each evaluation step that every finished run of the group
          reached with both values, the correlation across runs (seeds); the mean over those steps.

Point estimates are scipy.stats.spearmanr (rho) and scipy.stats.kendalltau (tau-b). Intervals come
from scipy.stats.bootstrap (percentile method, N_RESAMPLES resamples, fixed seed): resampling the
pooled pairs for `within` and `diff`, whole runs for `across`. The statistic inside the bootstrap is
the same rho / tau-b written in vectorized numpy (`spearman`, `kendall`) so that thousands of
resamples take milliseconds; tests check it against scipy. Resamples in which a variable is constant
have no correlation and are dropped; when more than 10 % are, the interval is reported as missing.
Fewer than MIN_N points, or a constant variable, give a missing value with its reason, never NaN noise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bench.report.load import FINISHED, GROUP, Results
from bench.report.measures import ESTIMATE, quality_keys

N_RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0
MIN_N = 3
ANALYSES = ("within", "diff", "across")
STATS = ("spearman", "kendall")


# -- the statistics, vectorized over leading axes ----------------------------------------------
def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along `axis`: Pearson's r of average ranks (as scipy.stats.spearmanr)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    return _pearson(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


def kendall(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b along `axis` (as scipy.stats.kendalltau): sum over pairs i<j of
    sign(dx) sign(dy), divided by sqrt(pairs untied in x * pairs untied in y)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sx * sy).sum((-2, -1)) / np.sqrt((sx * sx).sum((-2, -1)) * (sy * sy).sum((-2, -1)))


STATISTIC = {"spearman": spearman, "kendall": kendall}


def point(stat: str, x: np.ndarray, y: np.ndarray) -> float:
    fn = stats.spearmanr if stat == "spearman" else stats.kendalltau
    return float(fn(x, y).statistic)


@dataclass
class Corr:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # points (pairs) or runs
    k: int | None = None  # matched steps (across runs only)
    reason: str = ""  # why estimate or interval is missing


def _batch(n: int) -> int:
    """Resamples per vectorized call, so Kendall's n x n sign matrices stay around 16 MB."""
    return max(1, min(N_RESAMPLES, 2_000_000 // max(n * n, 1)))


def _interval(dist: np.ndarray) -> tuple[float | None, float | None, str]:
    finite = dist[np.isfinite(dist)]
    if len(finite) < 0.9 * len(dist):
        return None, None, (f"interval missing: {len(dist) - len(finite)} of {len(dist)} resamples have a "
                            f"constant variable (too few distinct values)")
    alpha = (1 - CONFIDENCE) / 2
    lo, hi = np.percentile(finite, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi), ""


def _bootstrap(data: tuple, statistic, paired: bool, n: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples are handled in _interval
        res = stats.bootstrap(data, statistic, paired=paired, vectorized=True, n_resamples=N_RESAMPLES,
                              batch=_batch(n), method="percentile", confidence_level=CONFIDENCE,
                              rng=np.random.default_rng(SEED))
    return np.asarray(res.bootstrap_distribution)


def _constant(v: np.ndarray) -> bool:
    return bool(np.all(v == v[0]))


def pooled(stat: str, x: np.ndarray, y: np.ndarray, what: str) -> Corr:
    """Correlation over pooled pairs (x_i, y_i), with an interval from resampling the pairs."""
    n = len(x)
    if n < MIN_N:
        return Corr(None, None, None, n, reason=f"{n} {what} < {MIN_N}")
    for v, name in ((x, ESTIMATE), (y, "the measure")):
        if _constant(v):
            return Corr(None, None, None, n, reason=f"{name} is constant over these {n} {what}")
    fn = STATISTIC[stat]
    lo, hi, why = _interval(_bootstrap((x, y), lambda a, b, axis=-1: fn(a, b, axis=axis), True, n))
    return Corr(point(stat, x, y), lo, hi, n, reason=why)


def across(stat: str, gap: np.ndarray, q: np.ndarray) -> Corr:
    """Mean over matched steps (columns) of the correlation across runs (rows), with an interval
    from resampling whole runs. gap, q: [runs, steps], all finite."""
    n, k = gap.shape
    if n < MIN_N:
        return Corr(None, None, None, n, k, reason=f"{n} runs < {MIN_N} at matched steps")
    if k == 0:
        return Corr(None, None, None, n, k, reason="no step at which every finished run has both values")
    per_step = np.array([point(stat, gap[:, j], q[:, j]) if not (_constant(gap[:, j]) or _constant(q[:, j]))
                         else np.nan for j in range(k)])
    if np.isnan(per_step).all():
        return Corr(None, None, None, n, k, reason="a variable is constant across runs at every matched step")
    fn = STATISTIC[stat]

    def mean_over_steps(idx, axis=-1):
        idx = np.moveaxis(idx, axis, -1)  # [..., n] resampled run indices
        g, v = np.moveaxis(gap[idx], -1, -2), np.moveaxis(q[idx], -1, -2)  # [..., k, n]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are degenerate resamples
            return np.nanmean(fn(g, v), axis=-1)

    lo, hi, why = _interval(_bootstrap((np.arange(n),), mean_over_steps, False, n * k))
    reason = why
    if np.isnan(per_step).any():
        reason = (f"{int(np.isnan(per_step).sum())} of {k} steps left out (a variable constant across runs)"
                  + (f"; {why}" if why else ""))
    return Corr(float(np.nanmean(per_step)), lo, hi, n, k, reason=reason)


# -- the analyses over a results frame ----------------------------------------------------------
def _pairs(rows: pd.DataFrame, key: str, diff: bool) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for _, run in rows.groupby("run", sort=False):
        run = run.sort_values("step")
        both = run[[ESTIMATE, key]].replace([np.inf, -np.inf], np.nan).dropna().to_numpy(float)
        if diff:
            both = np.diff(both, axis=0)
        xs.append(both[:, 0])
        ys.append(both[:, 1])
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.empty(0), np.empty(0))


def _matched(rows: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """[runs, steps] matrices of the estimate and the measure, runs in seed order, at the steps where
    every run has both values."""
    gap = rows.pivot_table(index="run", columns="step", values=ESTIMATE, aggfunc="first")
    q = rows.pivot_table(index="run", columns="step", values=key, aggfunc="first").reindex_like(gap)
    runs = rows.sort_values(["seed", "run"])["run"].unique()
    gap, q = gap.reindex(runs), q.reindex(runs)
    ok = np.isfinite(gap.to_numpy(float)).all(0) & np.isfinite(q.to_numpy(float)).all(0)
    return gap.to_numpy(float)[:, ok], q.to_numpy(float)[:, ok]


def correlations(res: Results) -> pd.DataFrame:
    """One row per group x quality measure x analysis x statistic (finished runs only)."""
    out = []
    rows = res.rows[res.rows["status"] == FINISHED] if len(res.rows) else res.rows
    if ESTIMATE not in rows.columns:
        return pd.DataFrame(columns=[*GROUP, "measure", "analysis", "stat", "estimate", "ci_low", "ci_high",
                                     "n", "k", "reason"])
    keys = quality_keys(res.metric_keys())
    for group, g in rows.groupby(GROUP, sort=True):
        for key in keys:
            if g[key].notna().sum() == 0:
                continue
            for analysis in ANALYSES:
                for stat in STATS:
                    if analysis == "across":
                        c = across(stat, *_matched(g, key))
                    else:
                        x, y = _pairs(g, key, diff=analysis == "diff")
                        c = pooled(stat, x, y, "step-to-step changes" if analysis == "diff" else "pairs")
                    out.append({**dict(zip(GROUP, group)), "measure": key, "analysis": analysis, "stat": stat,
                                "estimate": c.estimate, "ci_low": c.ci_low, "ci_high": c.ci_high, "n": c.n,
                                "k": c.k, "reason": c.reason})
    return pd.DataFrame(out, columns=[*GROUP, "measure", "analysis", "stat", "estimate", "ci_low", "ci_high",
                                      "n", "k", "reason"])
