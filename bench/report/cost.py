"""What the runs cost: training and evaluation time, and evaluation's share, per metric.

A study is only as cheap as its evaluations: exact W1, the independent critic (w_indep) and the
pictures can cost more than training a small model. The runs record their own split (run.json
`timings`: `train_s`, `eval_s` and, per metric, `eval_split_s`), so the report shows it rather than
anyone's estimate. Times are the process time of each run summed over its attempts (a resumed run
adds its later attempts' time), on whatever machine ran it; runs written before `eval_split_s`
existed show only the total.
"""

from __future__ import annotations

import pandas as pd

from bench.report.load import FINISHED, GROUP, Results
from bench.report.tables import fmt

TOTAL = "all finished runs"


def _timings(res: Results) -> pd.DataFrame:
    """One row per finished run: its labels, train_s, eval_s and eval_<metric>_s."""
    rows = []
    done = res.runs[res.runs["status"] == FINISHED]
    for _, r in done.iterrows():
        t = res.records[r["run"]].get("timings") or {}
        if t.get("train_s") is None or t.get("eval_s") is None:
            continue
        row = {c: r[c] for c in GROUP} | {"run": r["run"], "train_s": float(t["train_s"]),
                                          "eval_s": float(t["eval_s"])}
        row |= {f"eval_{k}_s": float(v) for k, v in (t.get("eval_split_s") or {}).items()}
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else [*GROUP, "run", "train_s", "eval_s"])


def cost_table(res: Results) -> pd.DataFrame:
    """Per group and over every finished run: runs, mean training and evaluation seconds per run,
    evaluation's share of training + evaluation time, and each metric's share (where recorded)."""
    t = _timings(res)
    if not len(t):
        return pd.DataFrame(columns=[*GROUP, "runs", "train_s_mean", "eval_s_mean", "eval_share"])
    parts = sorted(c for c in t.columns if c.startswith("eval_") and c.endswith("_s") and c != "eval_s")

    def summarize(g: pd.DataFrame) -> dict:
        total = g["train_s"].sum() + g["eval_s"].sum()
        out = {"runs": len(g), "train_s_mean": g["train_s"].mean(), "eval_s_mean": g["eval_s"].mean(),
               "eval_share": g["eval_s"].sum() / total if total > 0 else float("nan"),
               "train_s_total": g["train_s"].sum(), "eval_s_total": g["eval_s"].sum()}
        for p in parts:  # a share only where every run of the group recorded the split
            out[f"{p[:-2]}_share"] = g[p].sum() / total if total > 0 and g[p].notna().all() else float("nan")
        return out

    rows = [{**dict(zip(GROUP, key)), **summarize(g)} for key, g in t.groupby(GROUP, sort=True)]
    rows.append({**{c: (TOTAL if c == "dataset" else "") for c in GROUP}, **summarize(t)})
    return pd.DataFrame(rows)


def cost_display(data: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    if not len(data):
        return pd.DataFrame()
    out = data[index].copy()
    out["runs"] = data["runs"]
    out["train s / run"] = [fmt(v) for v in data["train_s_mean"]]
    out["eval s / run"] = [fmt(v) for v in data["eval_s_mean"]]
    out["eval share"] = [_pct(v) for v in data["eval_share"]]
    for c in data.columns:
        if c.startswith("eval_") and c.endswith("_share") and c != "eval_share":
            out[f"{c[len('eval_'):-len('_share')]} share"] = [_pct(v) for v in data[c]]
    return out.reset_index(drop=True)


def _pct(v) -> str:
    return "–" if pd.isna(v) else f"{100 * v:.1f} %"
