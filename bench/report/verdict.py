"""A verdict per data set x variant x arch x quality measure, for each critic estimate.

The verdict reads one pre-chosen statistic, so that the table answers one question and is corrected
once for multiplicity: the mean over runs of the per-run partial Spearman rho between the estimate
and the measure with training step partialled out (correlation.py). Its p-value (t-test of the
per-run Fisher z against 0, runs as the unit) is Holm-adjusted over every test in the table (all
rows, both estimates). Then:

  tracks         adjusted p < ALPHA and the mean has the expected sign (a larger estimate goes with
                 worse samples: + for lower-is-better measures such as W1 and FID, − for
                 higher-is-better ones such as modes and IS);
  opposite       adjusted p < ALPHA with the other sign: the estimate moves against quality;
  no evidence    adjusted p ≥ ALPHA: this design cannot tell the correlation from zero (see
                 `design_line` for how large a correlation it could detect);
  too few runs   fewer than MIN_RUNS runs have a value: no test, and not counted in the correction;
  correlated (sign unknown)  significant, for a measure whose better direction the report does not know.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report import stats as S
from bench.report.correlation import MIN_RUNS
from bench.report.load import GROUP
from bench.report.measures import Measures

VERDICT_ANALYSIS = ("partial", "spearman")
TRACKS, OPPOSITE, NONE, FEW, UNSIGNED = "tracks", "opposite", "no evidence", "too few runs", "correlated (sign unknown)"
COLS = [*GROUP, "estimate", "measure", "expected", "mean", "ci_low", "ci_high", "p", "p_holm", "n", "flagged",
        "runs", "verdict", "reason"]


def _verdict(expected: str, mean: float, p_holm: float, n: int) -> str:
    if n < MIN_RUNS:
        return FEW
    if not np.isfinite(p_holm) or p_holm >= S.ALPHA:
        return NONE
    if expected == "?":
        return UNSIGNED
    return TRACKS if (mean > 0) == (expected == "+") else OPPOSITE


def verdicts(agg: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    a = agg[(agg["analysis"] == VERDICT_ANALYSIS[0]) & (agg["stat"] == VERDICT_ANALYSIS[1])].copy()
    if not len(a):
        return pd.DataFrame(columns=COLS)
    a["expected"] = [measures.get(k).tracks_sign for k in a["measure"]]
    tested = (a["n"] >= MIN_RUNS).to_numpy()
    a["p_holm"] = S.holm(np.where(tested, a["p"].to_numpy(float), np.nan))
    a["verdict"] = [_verdict(e, m, p, n) for e, m, p, n in zip(a["expected"], a["mean"], a["p_holm"], a["n"])]
    a.loc[~tested, "reason"] = [f"{n} runs < {MIN_RUNS}" + (f"; {r}" if r else "")
                                for n, r in zip(a.loc[~tested, "n"], a.loc[~tested, "reason"])]
    return a[COLS].reset_index(drop=True)


def n_tests(v: pd.DataFrame) -> int:
    return int(v["p_holm"].notna().sum()) if len(v) else 0


def design_line(v: pd.DataFrame, per: pd.DataFrame) -> str:
    """One line: the smallest mean |rho| this design detects with 80 % power, at Holm's strictest step
    (alpha / K, what the strongest effect must clear) and at its most lenient (alpha)."""
    k = n_tests(v)
    if not k:
        return f"No verdict could be tested (every variant × arch has fewer than {MIN_RUNS} runs with a value)."
    p = per[(per["analysis"] == VERDICT_ANALYSIS[0]) & (per["stat"] == VERDICT_ANALYSIS[1])
            & np.isfinite(per["value"].astype(float))]
    n_runs = int(v.loc[v["p_holm"].notna(), "n"].median())
    m = int(p["points"].median())
    strict = S.detectable_rho(n_runs, m, S.ALPHA / k)
    loose = S.detectable_rho(n_runs, m, S.ALPHA)

    def say(r: float) -> str:
        return "none below 0.995" if not np.isfinite(r) else f"{r:.2f}"

    return (f"Design: {n_runs} runs × {m} evaluations per variant × arch (medians), K = {k} tests. The smallest mean "
            f"|partial ρ| detectable with 80 % power is {say(strict)} for the strongest effect (Holm's first step, "
            f"α/K = {S.ALPHA / k:.2g}) and {say(loose)} for the last one (α = {S.ALPHA}); this counts only the noise "
            f"within runs, so spread between runs makes both larger.")
