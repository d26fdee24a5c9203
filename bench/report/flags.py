"""Sanity flags per run: numbers that would mislead if averaged in silently.

  negative  the held-out critic_gap is below zero at some evaluation, for a variant whose gap is by
            its theory a (scaled) Wasserstein estimate: a W1 estimate cannot be negative, so there
            the critic is not estimating W1.
  collapse  at the last evaluation, 0 modes captured (mixtures, stacked images), or W1 above the
            data's scale: worse than a generator that outputs the data's mean every time
            (bench.report.floor).
  floor     at the last evaluation, exact W1 at or below its noise floor (the 95th percentile of W1
            between two real samples of the same size): indistinguishable from a perfect generator
            at this sample size, and not rankable against other runs at the floor.

`negative` and `collapse` mark a broken run or a broken estimate; `--exclude-flagged` leaves those
runs out of every mean, correlation and verdict. `floor` marks a limit of the measure, not a fault
of the run: those runs are the best ones, and leaving them out would rank the rest as if they were,
so the mark is shown and counted but never excludes a run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.floor import Reference
from bench.report.load import FINISHED, Results

DEFECTS = ("negative", "collapse")  # what --exclude-flagged leaves out
KINDS = (*DEFECTS, "floor")
COLUMNS = ["run", *KINDS, "flags"]


def _last(values: pd.Series) -> float:
    v = values.dropna()
    return float(v.iloc[-1]) if len(v) else np.nan


def run_flags(res: Results, refs: dict[str, Reference]) -> pd.DataFrame:
    """One row per run: a bool column per kind, and `flags`, the reasons in words ('' if none)."""
    out = []
    rows = res.rows.sort_values(["run", "step"]) if len(res.rows) else res.rows
    by_run = dict(tuple(rows.groupby("run", sort=False))) if len(rows) else {}
    for _, run in res.runs.iterrows():
        g = by_run.get(run["run"])
        said: dict[str, str] = {}
        if g is not None and len(g):
            said.update(_negative(run, g))
            said.update(_collapse(g, refs.get(run["run"])))
            said.update(_floor(g, refs.get(run["run"])))
        out.append({"run": run["run"], **{k: k in said for k in KINDS}, "flags": "; ".join(said.values())})
    return pd.DataFrame(out, columns=COLUMNS)


def _negative(run: pd.Series, g: pd.DataFrame) -> dict[str, str]:
    said = run.get("estimates_wasserstein")  # True, False, or None for runs that do not say
    if said is None or pd.isna(said) or not bool(said) or "critic_gap" not in g:
        return {}
    gap = g["critic_gap"].to_numpy(float)
    gap = gap[np.isfinite(gap)]
    k = int((gap < 0).sum())
    return {"negative": f"W1 estimate critic_gap < 0 at {k} of {len(gap)} evaluations"} if k else {}


def _collapse(g: pd.DataFrame, ref: Reference | None) -> dict[str, str]:
    if "modes" in g and _last(g["modes"]) == 0:
        return {"collapse": "collapse: 0 modes captured at the last evaluation"}
    if "w1_exact" in g and ref is not None and ref.scale is not None:
        w1 = _last(g["w1_exact"])
        if w1 > ref.scale:
            return {"collapse": f"collapse: final W1 {w1:.3g} > {ref.scale:.3g}, the W1 of a generator "
                                f"that always outputs the data's mean"}
    return {}


def _floor(g: pd.DataFrame, ref: Reference | None) -> dict[str, str]:
    if "w1_exact" not in g or ref is None or not ref.ok:
        return {}
    w1 = _last(g["w1_exact"])
    if np.isfinite(w1) and w1 <= ref.floor_q95:
        return {"floor": f"at W1 noise floor: final W1 {w1:.3g} ≤ {ref.floor_q95:.3g} (two real samples)"}
    return {}


def defective(flags: pd.DataFrame, res: Results) -> dict[str, str]:
    """Finished runs with a defect flag: run -> the reason (what --exclude-flagged leaves out)."""
    done = set(res.runs.loc[res.runs["status"] == FINISHED, "run"])
    bad = flags[flags[list(DEFECTS)].any(axis=1) & flags["run"].isin(done)]
    return dict(zip(bad["run"], bad["flags"]))


def flagged_runs(flags: pd.DataFrame) -> set[str]:
    """Runs with a defect flag (the count means and verdicts report)."""
    return set(flags.loc[flags[list(DEFECTS)].any(axis=1), "run"])
