"""Does the critic's estimate track sample quality? Rank correlations with each run as the unit.

Two estimates are analysed: `critic_gap` (E[D(x)] - E[D(G(z))] on held-out data) and
`critic_gap_train` (the same on the training batches). A gap that tracks quality on training batches
but not on held-out data points to an overfit critic rather than a bad estimator.

Per run, over its evaluation steps (`per_run`):
  level    Spearman rho and Kendall tau-b between the estimate and the measure;
  diff     the same on step-to-step changes (consecutive evaluations);
  partial  Spearman's rho with training step partialled out (stats.partial_spearman). Both
           quantities drift with training time, which alone correlates their levels; `partial` asks
           whether they move together beyond that shared trend, and is what the verdicts read.
           `diff` removes only a straight-line trend: when both change fast early and slowly later,
           their changes correlate as well (tests/report/verdict_tree.py, case d).
Per group (data set x variant x arch x setting; `aggregate`): the mean of the per-run values through
Fisher's z with a 95 % t-interval across runs and a t-test p-value, n runs shown (stats.fisher_mean).
Runs, not evaluation steps, are the independent units: steps of one run are not independent draws.

Across runs at matched steps (`across_runs`): at each evaluation step every finished run reached,
the correlation across runs (seeds), averaged over steps, with a percentile bootstrap that resamples
whole runs. It needs MIN_RUNS_ACROSS runs; with fewer the report says so once.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench.report import stats as S
from bench.report.load import FINISHED, GROUP, Results


ESTIMATES = ("critic_gap", "critic_gap_train")
PER_RUN = (("level", "spearman"), ("level", "kendall"), ("diff", "spearman"), ("diff", "kendall"),
           ("partial", "spearman"))
MIN_POINTS = 4  # evaluations (or changes) a run needs for a correlation of its own
MIN_RUNS = 3  # runs a group needs for a verdict
MIN_RUNS_ACROSS = 5  # runs a group needs for the across-runs analysis
N_RESAMPLES = 2000
SEED = 0

RUN_COLS = ["run", *GROUP, "seed", "estimate", "measure", "analysis", "stat", "value", "points", "reason"]
AGG_COLS = [*GROUP, "estimate", "measure", "analysis", "stat", "mean", "ci_low", "ci_high", "p", "n", "flagged",
            "runs", "reason"]
ACROSS_COLS = [*GROUP, "estimate", "measure", "stat", "mean", "ci_low", "ci_high", "n", "k", "reason"]


def finished_rows(res: Results) -> pd.DataFrame:
    return res.rows[res.rows["status"] == FINISHED] if len(res.rows) else res.rows


def _constant(v: np.ndarray) -> bool:
    return bool(np.all(v == v[0]))


def _one(kind: str, stat: str, step, x, y) -> tuple[float, int, str]:
    """(value, points, reason) of one per-run statistic; NaN with a reason when undefined."""
    if kind == "diff":
        x, y = np.diff(x), np.diff(y)
    n = len(x)
    what = "changes" if kind == "diff" else "evaluations"
    if n < MIN_POINTS:
        return np.nan, n, f"{n} {what} < {MIN_POINTS}"
    for v, name in ((x, "the estimate"), (y, "the measure")):
        if _constant(v):
            return np.nan, n, f"{name} is constant over the run's {n} {what}"
    if kind == "partial":
        r = S.partial_spearman(x, y, step)
        return (r, n, "") if np.isfinite(r) else (np.nan, n, "nothing left once the trend with step is removed "
                                                             "(a variable is monotone in step)")
    fn = sps.spearmanr if stat == "spearman" else sps.kendalltau
    return float(fn(x, y).statistic), n, ""


def per_run(res: Results) -> pd.DataFrame:
    """One row per finished run x estimate x quality measure x (analysis, statistic)."""
    rows = finished_rows(res)
    out = []
    keys = res.measures.quality_keys(res.metric_keys())
    for est in ESTIMATES:
        if est not in rows.columns:
            continue
        for (run, *_), g in rows.groupby(["run", *GROUP], sort=True):
            g = g.sort_values("step")
            for key in keys:
                if not g[key].notna().any() or not g[est].notna().any():
                    continue
                both = g[["step", est, key]].replace([np.inf, -np.inf], np.nan).dropna().to_numpy(float)
                step, x, y = both.T if len(both) else (np.empty(0),) * 3
                for kind, stat in PER_RUN:
                    value, points, reason = _one(kind, stat, step, x, y)
                    out.append({"run": run, **{c: g.iloc[0][c] for c in GROUP}, "seed": g.iloc[0]["seed"],
                                "estimate": est, "measure": key, "analysis": kind, "stat": stat, "value": value,
                                "points": points, "reason": reason})
    return pd.DataFrame(out, columns=RUN_COLS)


def exclude(per: pd.DataFrame, excluded: dict[str, str]) -> pd.DataFrame:
    """Per-run values of runs --exclude-flagged leaves out become missing, with the reason (the rows stay,
    so a group whose runs are all excluded still shows, as too few runs)."""
    per = per.copy()
    out = per["run"].isin(list(excluded))
    per.loc[out, "value"] = np.nan
    per.loc[out, "reason"] = "excluded by --exclude-flagged"
    return per


def aggregate(per: pd.DataFrame, res: Results, flagged: set[str]) -> pd.DataFrame:
    """Per group x estimate x measure x (analysis, statistic): Fisher-z mean over runs, 95 % t-interval,
    p-value; n = runs with a value, flagged = how many of those carry a defect flag."""
    rows = finished_rows(res)
    runs_in = rows.groupby(GROUP)["run"].nunique() if len(rows) else pd.Series(dtype=int)
    out = []
    for key, g in per.groupby([*GROUP, "estimate", "measure", "analysis", "stat"], sort=False):
        ok = g[np.isfinite(g["value"].astype(float))]
        m = S.fisher_mean(ok["value"].to_numpy(float))
        reasons = sorted(set(g.loc[~g.index.isin(ok.index), "reason"]))
        reason = ""
        if m.n < len(g):
            reason = f"{len(g) - m.n} of {len(g)} runs have no value ({'; '.join(reasons)})"
        if m.n < 2:
            reason = (reason + "; " if reason else "") + "no interval with fewer than 2 runs"
        out.append({**dict(zip([*GROUP, "estimate", "measure", "analysis", "stat"], key)), "mean": m.estimate,
                    "ci_low": m.low, "ci_high": m.high, "p": m.p, "n": m.n,
                    "flagged": int(ok["run"].isin(flagged).sum()), "runs": int(runs_in.get(key[:len(GROUP)], 0)),
                    "reason": reason})
    order = {k: i for i, k in enumerate(res.measures.quality_keys(res.metric_keys()))}
    return (pd.DataFrame(out, columns=AGG_COLS)
            .sort_values([*GROUP, "estimate", "measure"], kind="stable",
                         key=lambda c: c.map(order) if c.name == "measure" else c)
            .reset_index(drop=True))


# -- across runs at matched steps ------------------------------------------------------------------
def _interval(dist: np.ndarray) -> tuple[float, float, str]:
    finite = dist[np.isfinite(dist)]
    if len(finite) < 0.9 * len(dist):
        return np.nan, np.nan, (f"interval missing: {len(dist) - len(finite)} of {len(dist)} resamples have a "
                                f"constant variable")
    return (*np.percentile(finite, [2.5, 97.5]).tolist(), "")


def across(stat: str, gap: np.ndarray, q: np.ndarray) -> tuple[float, float, float, str]:
    """Mean over matched steps (columns) of the correlation across runs (rows), and a percentile
    bootstrap interval from resampling whole runs. gap, q: [runs, steps], all finite."""
    n, k = gap.shape
    fn = S.spearman if stat == "spearman" else S.kendall
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant columns: no correlation at that step
        per_step = fn(gap.T, q.T)
        if k == 0 or np.isnan(per_step).all():
            return np.nan, np.nan, np.nan, "no step with both values varying across runs"

        def mean_over_steps(idx, axis=-1):
            idx = np.moveaxis(idx, axis, -1)
            g, v = np.moveaxis(gap[idx], -1, -2), np.moveaxis(q[idx], -1, -2)  # [..., k, n]
            return np.nanmean(fn(g, v), axis=-1)

        res = sps.bootstrap((np.arange(n),), mean_over_steps, vectorized=True, n_resamples=N_RESAMPLES,
                            method="percentile", batch=max(1, 2_000_000 // (n * n * k)),
                            rng=np.random.default_rng(SEED))
        lo, hi, why = _interval(np.asarray(res.bootstrap_distribution))
    left = int(np.isnan(per_step).sum())
    why = "; ".join(filter(None, [f"{left} of {k} steps left out (a variable constant across runs)" if left else "",
                                  why]))
    return float(np.nanmean(per_step)), lo, hi, why


def _matched(rows: pd.DataFrame, est: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    gap = rows.pivot_table(index="run", columns="step", values=est, aggfunc="first")
    q = rows.pivot_table(index="run", columns="step", values=key, aggfunc="first").reindex_like(gap)
    runs = rows.sort_values(["seed", "run"])["run"].unique()
    gap, q = gap.reindex(runs).to_numpy(float), q.reindex(runs).to_numpy(float)
    ok = np.isfinite(gap).all(0) & np.isfinite(q).all(0)
    return gap[:, ok], q[:, ok]


def across_runs(res: Results) -> tuple[pd.DataFrame, str]:
    """The across-runs table for groups with at least MIN_RUNS_ACROSS finished runs, and one note
    about the groups that have fewer ('' when none)."""
    rows = finished_rows(res)
    out, few = [], {}
    keys = res.measures.quality_keys(res.metric_keys())
    for group, g in rows.groupby(GROUP, sort=True) if len(rows) else []:
        n = g["run"].nunique()
        if n < MIN_RUNS_ACROSS:
            few[group] = n
            continue
        for est in (e for e in ESTIMATES if e in g and g[e].notna().any()):
            for key in (k for k in keys if g[k].notna().any()):
                gap, q = _matched(g, est, key)
                for stat in ("spearman", "kendall"):
                    m, lo, hi, why = across(stat, gap, q)
                    out.append({**dict(zip(GROUP, group)), "estimate": est, "measure": key, "stat": stat, "mean": m,
                                "ci_low": lo, "ci_high": hi, "n": n, "k": gap.shape[1], "reason": why})
    note = ""
    if few:
        note = (f"Across runs at matched steps needs at least {MIN_RUNS_ACROSS} finished runs per variant × arch; "
                f"{len(few)} of {len(few) + len({tuple(r[c] for c in GROUP) for r in out})} have fewer "
                f"(at most {max(few.values())}), so it is not computed for them.")
    return pd.DataFrame(out, columns=ACROSS_COLS), note
