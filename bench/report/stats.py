"""The statistics behind the report's verdicts, as small pure functions of numpy arrays.

Each one is checked in tests/report/test_report_stats.py against scipy or an independent formula.

  spearman, kendall     rank correlations, vectorized over leading axes (for bootstraps)
  partial_spearman      rank correlation of x and y with a covariate (training step) removed
  fisher_mean           mean of per-run correlations through Fisher's z, with a t-interval across runs
  holm                  Holm's step-down adjustment of p-values (family-wise error)
  detectable_rho        the smallest mean |rho| a design of n runs x m evaluations detects
  t_interval            mean and 95 % t-interval of values over seeds
  permutation_p         two-sided permutation test of a difference in means between two sets of seeds
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
CONFIDENCE = 0.95
# A per-run |r| of 1 (perfectly monotone over a few evaluations) has an infinite Fisher z; it enters
# the mean as |z| = Z_CAP (|r| = 0.995) so that one such run does not decide the mean alone.
Z_CAP = 3.0
# Fieller, Hartley & Pearson (1957): var(atanh(Spearman rho)) ~ 1.06 / (n - 3); one covariate
# partialled out costs one more degree of freedom.
SPEARMAN_VAR = 1.06
PERMUTATIONS = 9999  # random permutations when the exact test would need more
SEED = 0


# -- rank correlations ----------------------------------------------------------------------------
def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along `axis`: Pearson's r of average ranks (as scipy.stats.spearmanr)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    return pearson(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


def kendall(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b along `axis` (as scipy.stats.kendalltau): sum over pairs i<j of
    sign(dx) sign(dy), divided by sqrt(pairs untied in x * pairs untied in y)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sx * sy).sum((-2, -1)) / np.sqrt((sx * sx).sum((-2, -1)) * (sy * sy).sum((-2, -1)))


def partial_spearman(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> float:
    """Spearman's rho of x and y with t partialled out: the ranks of x and of y are each regressed
    (least squares, with intercept) on the ranks of t, and the result is Pearson's r of the two
    residuals. Both quantities trending with training time share rank(t); what is left is whether
    they move together beyond that trend."""
    rt = stats.rankdata(t)
    design = np.column_stack([np.ones(len(rt)), rt])
    resid = []
    for v in (x, y):
        rv = stats.rankdata(v)
        coef, *_ = np.linalg.lstsq(design, rv, rcond=None)
        resid.append(rv - design @ coef)
    return float(pearson(*resid))


# -- aggregating over runs ------------------------------------------------------------------------
@dataclass
class Mean:
    estimate: float  # tanh(mean z): the mean correlation
    low: float  # 95 % t-interval across runs, back-transformed (NaN with fewer than 2 runs)
    high: float
    p: float  # two-sided one-sample t-test of mean z = 0 across runs (NaN with fewer than 2 runs)
    n: int  # runs


def fisher_mean(r: np.ndarray) -> Mean:
    """Mean of per-run correlations r (one per run; runs are the independent units) via Fisher's
    z = atanh(r), with a 95 % t-interval of the mean z across runs (n - 1 degrees of freedom)."""
    r = np.asarray(r, float)
    r = r[np.isfinite(r)]
    n = len(r)
    if n == 0:
        return Mean(math.nan, math.nan, math.nan, math.nan, 0)
    with np.errstate(divide="ignore"):
        z = np.clip(np.arctanh(np.clip(r, -1, 1)), -Z_CAP, Z_CAP)
    m = float(z.mean())
    if n < 2:
        return Mean(math.tanh(m), math.nan, math.nan, math.nan, n)
    s = float(z.std(ddof=1))
    if s == 0:  # every run the same value: no spread to test against
        return Mean(math.tanh(m), math.tanh(m), math.tanh(m), 0.0 if m != 0 else 1.0, n)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * s / math.sqrt(n)
    p = float(stats.ttest_1samp(z, 0.0).pvalue)
    return Mean(math.tanh(m), math.tanh(m - half), math.tanh(m + half), p, n)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values; NaN entries are not tests and stay NaN."""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if not m:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def detectable_rho(n_runs: int, n_points: int, alpha: float, power: float = 0.8, covariates: int = 1) -> float:
    """The smallest mean |rho| that the across-runs t-test on Fisher z detects with `power` at
    two-sided level `alpha`, when each run's z has only its sampling variance 1.06 / (m - 3 - k)
    (spread between runs would raise it). NaN when no |rho| up to 0.995 is detectable."""
    df_run = n_points - 3 - covariates
    if n_runs < 2 or df_run < 1:
        return math.nan
    se = math.sqrt(SPEARMAN_VAR / df_run) / math.sqrt(n_runs)
    crit = stats.t.ppf(1 - alpha / 2, n_runs - 1)

    def gap(z: float) -> float:
        nc = z / se
        lower = stats.nct.cdf(-crit, n_runs - 1, nc)  # the wrong tail: negligible, but NaN far out
        return stats.nct.sf(crit, n_runs - 1, nc) + (0.0 if np.isnan(lower) else lower) - power

    if gap(Z_CAP) < 0:
        return math.nan
    return math.tanh(optimize.brentq(gap, 0.0, Z_CAP, xtol=1e-6))


# -- comparing variants over seeds ----------------------------------------------------------------
def t_interval(v: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval over seeds (NaN interval with fewer than 2 values)."""
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return m, m - half, m + half


def min_permutation_p(n1: int, n2: int) -> float:
    """The smallest two-sided p an exact permutation test of two groups of n1 and n2 can give."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def permutation_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided permutation test of mean(a) - mean(b): exact (every split of the pooled seeds) when
    there are at most PERMUTATIONS splits, else PERMUTATIONS random ones from a fixed seed."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.permutation_test((a, b), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), vectorized=True,
                                     permutation_type="independent", alternative="two-sided",
                                     n_resamples=PERMUTATIONS, rng=np.random.default_rng(SEED))
    return float(res.pvalue)
