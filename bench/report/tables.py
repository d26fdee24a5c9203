"""The report's tables as tidy pandas frames (numbers) and display frames (formatted strings).

Means and standard deviations are over the finished (`done`) runs of a group, one value per seed;
runs still running, interrupted, diverged or failed are counted in the runs table and never
averaged in. std is the sample standard deviation (ddof = 1); with one run it is missing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.report.correlation import ANALYSES
from bench.report.load import FINISHED, GROUP, STATUSES, Results
from bench.report.measures import measure, quality_keys

# -- numbers ---------------------------------------------------------------------------------------


def status_counts(res: Results) -> pd.DataFrame:
    """Per group: runs by status, and steps/s over the finished runs."""
    runs = res.runs
    counts = pd.crosstab([runs[c] for c in GROUP], runs["status"]).reindex(columns=STATUSES, fill_value=0)
    done = runs[runs["status"] == FINISHED]
    sps = done.groupby(GROUP)["steps_per_s"].agg(["mean", "std", "count"])
    sps.columns = ["steps_per_s_mean", "steps_per_s_std", "steps_per_s_n"]
    out = counts.join(sps, how="left")
    out.insert(0, "runs", counts.sum(axis=1))
    out["steps_per_s_n"] = out["steps_per_s_n"].fillna(0).astype(int)
    return out.reset_index()


def per_run_values(res: Results) -> pd.DataFrame:
    """One row per run x quality measure: its final value (at its last evaluation) and its best."""
    if not len(res.rows):
        return pd.DataFrame(columns=["run", *GROUP, "seed", "status", "measure", "final", "best"])
    keys = quality_keys(res.metric_keys())
    rows = res.rows.sort_values(["run", "step"])
    last = rows.groupby("run", sort=False).tail(1).set_index("run")
    out = []
    for key in keys:
        m = measure(key)
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


def quality_summary(res: Results) -> pd.DataFrame:
    """Per group x measure x (final | best): mean, std and n over finished runs with a finite value."""
    values = per_run_values(res)
    values = values[values["status"] == FINISHED]
    out = []
    for (*group, key), g in values.groupby([*GROUP, "measure"], sort=False):
        for which in ("final", "best"):
            v = g[which].to_numpy(float)
            v = v[np.isfinite(v)]
            out.append({**dict(zip(GROUP, group)), "measure": key, "direction": measure(key).direction or "",
                        "which": which, "mean": v.mean() if len(v) else np.nan,
                        "std": v.std(ddof=1) if len(v) > 1 else np.nan, "n": len(v)})
    cols = [*GROUP, "measure", "direction", "which", "mean", "std", "n"]
    order = {k: i for i, k in enumerate(quality_keys(res.metric_keys()))}
    df = pd.DataFrame(out, columns=cols)
    return df.sort_values([*GROUP, "measure", "which"], key=lambda s: s.map(order) if s.name == "measure" else s,
                          kind="stable").reset_index(drop=True)


# -- formatting ------------------------------------------------------------------------------------


def fmt(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


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
    out["steps/s"] = [
        "–" if n == 0 else fmt(m, 3) + ("" if n < 2 else f" ± {fmt(s, 2)}")
        for m, s, n in zip(counts["steps_per_s_mean"], counts["steps_per_s_std"], counts["steps_per_s_n"])
    ]
    return out.reset_index(drop=True)


def _cell(mean, std, n, expected, scale) -> str:
    if n == 0:
        return "–"
    text = fmt(mean * scale) + (f" ± {fmt(std * scale, 2)}" if n > 1 else "")
    return text + (f" (n={n})" if n != expected else "")


def quality_display(summary: pd.DataFrame, counts: pd.DataFrame, which: str) -> pd.DataFrame:
    """Rows: groups; columns: measures; cells: mean ± std over finished runs (n shown when it differs)."""
    idx = _index_cols(counts)
    done = counts.set_index(GROUP)[FINISHED]
    s = summary[summary["which"] == which]
    keys = list(dict.fromkeys(s.loc[s["n"] > 0, "measure"]))  # a measure no finished run has: no column
    if which == "best":
        keys = [k for k in keys if measure(k).direction]
    rows = []
    for group, g in s.groupby(GROUP, sort=True):
        expected = int(done.get(group, 0))
        row = dict(zip(GROUP, group))
        row["n"] = expected
        by_key = g.set_index("measure")
        for key in keys:
            m = measure(key)
            if key in by_key.index:
                r = by_key.loc[key]
                row[m.label + m.arrow] = _cell(r["mean"], r["std"], int(r["n"]), expected, m.scale)
            else:
                row[m.label + m.arrow] = "–"
        rows.append(row)
    cols = [*idx, "n", *[measure(k).label + measure(k).arrow for k in keys]]
    return pd.DataFrame(rows, columns=[*GROUP, "n", *cols[len(idx) + 1:]])[cols]


def corr_display(corr: pd.DataFrame, analysis: str) -> pd.DataFrame:
    """Rows: group x measure; columns: rho [95 % CI], tau [95 % CI], n (and k for across runs)."""
    assert analysis in ANALYSES
    c = corr[corr["analysis"] == analysis]
    idx = _index_cols(c) if len(c) else [g for g in GROUP if g != "setting"]
    rows = []
    for (*group, key), g in c.groupby([*GROUP, "measure"], sort=False):
        m = measure(key)
        row = {**dict(zip(GROUP, group)), "measure": f"{m.label}{m.arrow}", "tracks if": m.tracks_sign}
        notes = []
        for stat, sym in (("spearman", "ρ"), ("kendall", "τ")):
            r = g[g["stat"] == stat].iloc[0]
            est = r["estimate"]
            if est is None or pd.isna(est):
                row[sym] = "–"
            elif r["ci_low"] is None or pd.isna(r["ci_low"]):
                row[sym] = f"{est:+.2f}"
            else:
                row[sym] = f"{est:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
            if r["reason"] and r["reason"] not in notes:
                notes.append(r["reason"])
        row["n"] = int(g["n"].iloc[0])
        if analysis == "across":
            k = g["k"].iloc[0]
            row["steps"] = "–" if k is None or pd.isna(k) else int(k)
        row["note"] = "; ".join(notes)
        rows.append(row)
    cols = [*idx, "measure", "tracks if", "ρ", "τ", "n", *(["steps"] if analysis == "across" else []), "note"]
    return pd.DataFrame(rows, columns=[*GROUP, *cols[len(idx):]])[cols] if rows else pd.DataFrame(columns=cols)


def runs_display(res: Results) -> pd.DataFrame:
    """Every run with its status, so failed, diverged and unfinished runs are visible by name."""
    r = res.runs
    why = []
    for _, row in r.iterrows():
        if row["status"] == "diverged":
            at = row["diverged_at_step"]
            said = row.get("diverged_why")  # when and where (bench.divergence); absent in older runs
            why.append(said if isinstance(said, str) else f"non-finite value at step {'?' if pd.isna(at) else int(at)}")
        elif row["status"] == "failed":
            why.append(str(row["error"] or ""))
        elif row["status"] == "interrupted":
            why.append("stopped without finishing (no process holds it); `bench run` again resumes it")
        else:
            why.append("")
    return pd.DataFrame({
        "run": r["run"], "status": r["status"],
        "step": [f"{'–' if pd.isna(a) else int(a)} / {'–' if pd.isna(b) else int(b)}"
                 for a, b in zip(r["last_step"], r["steps"])],
        "steps/s": [fmt(v, 3) for v in r["steps_per_s"]], "device": r["device"], "note": why,
    })
