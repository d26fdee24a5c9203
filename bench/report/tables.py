"""Run-level tables (status counts, each run's final and best values, the run list) and the number
formatting every table shares.

Statistics use finished (`done`) runs only; runs still running, interrupted, diverged or failed are
counted in the runs table and never averaged in. Numbers print with consistent precision: a value
with an interval gets two significant digits of the interval's half-width and the same decimals for
the value (`fmt_ci`); correlations always two decimals with a sign (`fmt_r`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.report.load import FINISHED, GROUP, STATUSES, Results


# -- numbers ---------------------------------------------------------------------------------------


FLAG_COLUMNS = {"negative": "negative W", "collapse": "collapsed", "floor": "at W1 floor"}


def status_counts(res: Results, flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per group: runs by status, finished runs by sanity flag (bench.report.flags) and how many of
    them --exclude-flagged left out, and steps/s over the finished runs."""
    runs = res.runs
    counts = pd.crosstab([runs[c] for c in GROUP], runs["status"]).reindex(columns=STATUSES, fill_value=0)
    total = counts.sum(axis=1)
    if flags is not None:
        f = runs[["run", *GROUP, "status"]].merge(flags, on="run", how="left")
        f = f[f["status"] == FINISHED]
        f["excluded"] = f["run"].isin(list(res.excluded))
        per = f.groupby(GROUP)[[*FLAG_COLUMNS, "excluded"]].sum()
        counts = counts.join(per.astype(int), how="left").fillna(0)
    done = runs[runs["status"] == FINISHED]
    sps = done.groupby(GROUP)["steps_per_s"].agg(["mean", "std", "count"])
    sps.columns = ["steps_per_s_mean", "steps_per_s_std", "steps_per_s_n"]
    out = counts.join(sps, how="left")
    out.insert(0, "runs", total)
    out["steps_per_s_n"] = out["steps_per_s_n"].fillna(0).astype(int)
    for c in ["runs", *STATUSES, *FLAG_COLUMNS, "excluded"]:
        if c in out:
            out[c] = out[c].fillna(0).astype(int)
    return out.reset_index()


def per_run_values(res: Results) -> pd.DataFrame:
    """One row per run x quality measure: its final value (at its last evaluation) and its best."""
    if not len(res.rows):
        return pd.DataFrame(columns=["run", *GROUP, "seed", "status", "measure", "final", "best"])
    keys = res.measures.quality_keys(res.metric_keys())
    rows = res.rows.sort_values(["run", "step"])
    last = rows.groupby("run", sort=False).tail(1).set_index("run")
    out = []
    for key in keys:
        m = res.measures.get(key)
        vals = rows[["run", key]].replace([np.inf, -np.inf], np.nan)
        if m.direction == "lower":
            best = vals.groupby("run")[key].min()
        elif m.direction == "higher":
            best = vals.groupby("run")[key].max()
        else:
            best = pd.Series(np.nan, index=last.index)
        for run, row in last.iterrows():
            out.append({"run": run, **{c: row[c] for c in GROUP}, "seed": row["seed"], "status": row["status"],
                        "measure": key, "final": row[key], "best": best.get(run, np.nan)})
    return pd.DataFrame(out)


# -- formatting ------------------------------------------------------------------------------------


def _missing(x) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and not math.isfinite(x))


def fmt(x, digits: int = 3) -> str:
    """A lone number: `digits` significant digits."""
    return "–" if _missing(x) else f"{x:.{digits}g}"


def decimals(spread: float) -> int:
    """Decimals that show two significant digits of `spread` (0 to 6)."""
    if _missing(spread) or spread <= 0:
        return 3
    return int(min(6, max(0, 1 - math.floor(math.log10(spread)))))


def fmt_ci(mean, low, high, scale: float = 1.0) -> str:
    """'mean [low, high]' with the decimals of two significant digits of the half-width; a lone mean
    (3 significant digits) when there is no interval."""
    if _missing(mean):
        return "–"
    if _missing(low) or _missing(high):
        return fmt(mean * scale)
    if high == low:  # every seed the same value
        return f"{fmt(mean * scale)} [{fmt(low * scale)}, {fmt(high * scale)}]"
    d = decimals((high - low) * scale / 2)
    return f"{mean * scale:.{d}f} [{low * scale:.{d}f}, {high * scale:.{d}f}]"


def fmt_r(r, low=None, high=None) -> str:
    """A correlation: two decimals with a sign, and its interval when there is one."""
    if _missing(r):
        return "–"
    return f"{r:+.2f}" + ("" if _missing(low) or _missing(high) else f" [{low:+.2f}, {high:+.2f}]")


def fmt_p(p) -> str:
    if _missing(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _index_cols(df: pd.DataFrame) -> list[str]:
    """GROUP without `setting` when every data set x variant x arch has only one."""
    one = df.groupby(["dataset", "variant", "arch"])["setting"].nunique().max() <= 1 if len(df) else True
    return [c for c in GROUP if not (c == "setting" and one)]


def status_display(counts: pd.DataFrame) -> pd.DataFrame:
    idx = _index_cols(counts)
    out = counts[idx].copy()
    out["runs"] = counts["runs"]
    for s in STATUSES:
        if s == FINISHED or counts[s].sum():
            out[s] = counts[s]
    for c, label in FLAG_COLUMNS.items():
        if c in counts:
            out[label] = counts[c]
    if "excluded" in counts and counts["excluded"].sum():
        out["excluded"] = counts["excluded"]
    out["steps/s"] = [
        "–" if n == 0 else (fmt(m) if n < 2 else f"{m:.{decimals(s)}f} ± {s:.2g}")
        for m, s, n in zip(counts["steps_per_s_mean"], counts["steps_per_s_std"], counts["steps_per_s_n"])
    ]
    return out.reset_index(drop=True)


def runs_display(res: Results, flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every run with its status and sanity flags, so failed, diverged, unfinished and suspect runs
    are visible by name."""
    r = res.runs
    why = []
    for _, row in r.iterrows():
        if row["status"] == "diverged":
            at = row["diverged_at_step"]
            said = row.get("diverged_why")  # when and where (bench.train.divergence); absent in older runs
            why.append(said if isinstance(said, str) else f"non-finite value at step {'?' if pd.isna(at) else int(at)}")
        elif row["status"] == "failed":
            why.append(str(row["error"] or ""))
        elif row["status"] == "interrupted":
            why.append("stopped without finishing (no process holds it); `bench run` again resumes it")
        else:
            why.append("")
    out = pd.DataFrame({
        "run": r["run"], "status": r["status"],
        "step": [f"{'–' if pd.isna(a) else int(a)} / {'–' if pd.isna(b) else int(b)}"
                 for a, b in zip(r["last_step"], r["steps"])],
        "steps/s": [fmt(v) for v in r["steps_per_s"]], "device": r["device"], "note": why,
    })
    if flags is not None:
        said = dict(zip(flags["run"], flags["flags"]))
        out["flags"] = [said.get(run, "") + (" (excluded: --exclude-flagged)" if run in res.excluded else "")
                        for run in r["run"]]
    if "recomputed" in r and r["recomputed"].fillna(0).sum():
        out["bench eval"] = [f"{int(n)} values" if n else "" for n in r["recomputed"].fillna(0)]
    return out
