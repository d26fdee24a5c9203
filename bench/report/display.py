"""Display frames (formatted strings) for the statistical tables: verdicts, the per-run correlations
behind them, across-runs correlations, the leaderboards and the pairwise tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.correlation import PER_RUN
from bench.report.leaderboard import BOARD, average_rank
from bench.report.load import GROUP
from bench.report.measures import Measures
from bench.report.tables import fmt, fmt_ci, fmt_p, fmt_r

ESTIMATE_LABEL = {"critic_gap": "held-out", "critic_gap_train": "train"}
ANALYSIS_LABEL = {("level", "spearman"): "level ρ", ("level", "kendall"): "level τ", ("diff", "spearman"): "Δ ρ",
                  ("diff", "kendall"): "Δ τ", ("partial", "spearman"): "partial ρ"}


def index_cols(df: pd.DataFrame) -> list[str]:
    """GROUP without `setting` when every data set x variant x arch has only one."""
    one = df.groupby(["dataset", "variant", "arch"])["setting"].nunique().max() <= 1 if len(df) else True
    return [c for c in GROUP if not (c == "setting" and one)]


def _label(key: str, measures: Measures) -> str:
    m = measures.get(key)
    return m.label + m.arrow


def _runs(n: int, flagged: int) -> str:
    return f"{n}" + (f" ({flagged} flagged)" if flagged else "")


def verdict_display(v: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    """Rows: group x measure. Per estimate: the verdict statistic with its interval, Holm p, verdict."""
    idx = index_cols(v) if len(v) else [c for c in GROUP if c != "setting"]
    rows = []
    for (*group, key), g in v.groupby([*GROUP, "measure"], sort=False):
        row = {**dict(zip(GROUP, group)), "measure": _label(key, measures), "tracks if": g["expected"].iloc[0]}
        for est in ("critic_gap", "critic_gap_train"):
            e = g[g["estimate"] == est]
            lab = ESTIMATE_LABEL[est]
            if not len(e):
                row.update({f"{lab}: partial ρ": "–", f"{lab}: p (Holm)": "–", f"{lab}: runs": "–",
                            f"{lab}: verdict": "no data"})
                continue
            r = e.iloc[0]
            row[f"{lab}: partial ρ"] = fmt_r(r["mean"], r["ci_low"], r["ci_high"])
            row[f"{lab}: p (Holm)"] = fmt_p(r["p_holm"])
            row[f"{lab}: runs"] = _runs(int(r["n"]), int(r["flagged"]))
            row[f"{lab}: verdict"] = r["verdict"]
        rows.append(row)
    cols = [*idx, "measure", "tracks if"] + [f"{ESTIMATE_LABEL[e]}: {c}" for e in ("critic_gap", "critic_gap_train")
                                            for c in ("partial ρ", "p (Holm)", "runs", "verdict")]
    return pd.DataFrame(rows, columns=[*GROUP, *cols[len(idx):]])[cols] if rows else pd.DataFrame(columns=cols)


def detail_display(agg: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    """Rows: group x estimate x measure; columns: every per-run statistic's mean over runs [95 % CI]."""
    idx = index_cols(agg) if len(agg) else [c for c in GROUP if c != "setting"]
    rows = []
    for (*group, est, key), g in agg.groupby([*GROUP, "estimate", "measure"], sort=False):
        row = {**dict(zip(GROUP, group)), "estimate": ESTIMATE_LABEL.get(est, est), "measure": _label(key, measures),
               "tracks if": measures.get(key).tracks_sign}
        notes = []
        for kind_stat in PER_RUN:
            r = g[(g["analysis"] == kind_stat[0]) & (g["stat"] == kind_stat[1])]
            if not len(r):
                row[ANALYSIS_LABEL[kind_stat]] = "–"
                continue
            r = r.iloc[0]
            row[ANALYSIS_LABEL[kind_stat]] = fmt_r(r["mean"], r["ci_low"], r["ci_high"])
            if r["reason"] and r["reason"] not in notes:
                notes.append(f"{ANALYSIS_LABEL[kind_stat]}: {r['reason']}")
        row["runs"] = _runs(int(g["n"].max()), int(g["flagged"].max()))
        row["note"] = "; ".join(notes)
        rows.append(row)
    cols = [*idx, "estimate", "measure", "tracks if", *ANALYSIS_LABEL.values(), "runs", "note"]
    return pd.DataFrame(rows, columns=[*GROUP, *cols[len(idx):]])[cols] if rows else pd.DataFrame(columns=cols)


def across_display(a: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    idx = index_cols(a) if len(a) else [c for c in GROUP if c != "setting"]
    rows = []
    for (*group, est, key), g in a.groupby([*GROUP, "estimate", "measure"], sort=False):
        row = {**dict(zip(GROUP, group)), "estimate": ESTIMATE_LABEL.get(est, est), "measure": _label(key, measures),
               "tracks if": measures.get(key).tracks_sign}
        for stat, sym in (("spearman", "ρ"), ("kendall", "τ")):
            r = g[g["stat"] == stat].iloc[0]
            row[sym] = fmt_r(r["mean"], r["ci_low"], r["ci_high"])
        row["runs"], row["steps"] = int(g["n"].iloc[0]), int(g["k"].iloc[0])
        row["note"] = "; ".join(dict.fromkeys(r for r in g["reason"] if r))
        rows.append(row)
    cols = [*idx, "estimate", "measure", "tracks if", "ρ", "τ", "runs", "steps", "note"]
    return pd.DataFrame(rows, columns=[*GROUP, *cols[len(idx):]])[cols] if rows else pd.DataFrame(columns=cols)


def leaderboard_display(board: pd.DataFrame, which: str, measures: Measures) -> pd.DataFrame:
    """Rows: data set x arch x variant; a column per measure: 'mean [95 % CI] #rank', † at the W1
    floor; then the average rank."""
    b = board[board["which"] == which]
    keys = list(dict.fromkeys(b.loc[b["n"] > 0, "measure"]))
    ranks = average_rank(board, which).set_index([*BOARD, "variant"])
    rows = []
    for (*group, variant), g in b.groupby([*BOARD, "variant"], sort=True):
        by = g.set_index("measure")
        row = {**dict(zip(BOARD, group)), "variant": variant, "runs": _runs(int(g["n"].max()), int(g["flagged"].max()))}
        for key in keys:
            m = measures.get(key)
            if key not in by.index or by.loc[key, "n"] == 0:
                row[_label(key, measures)] = "–"
                continue
            r = by.loc[key]
            cell = fmt_ci(r["mean"], r["ci_low"], r["ci_high"], m.scale) + ("†" if r["at_floor"] else "")
            row[_label(key, measures)] = cell + ("" if pd.isna(r["rank"]) else f" #{int(r['rank'])}")
        ar = ranks["mean"].get((*group, variant), np.nan)
        row["avg rank"] = fmt(ar, 2) if np.isfinite(ar) else "–"
        rows.append(row)
    cols = [*BOARD, "variant", "runs", *[_label(k, measures) for k in keys], "avg rank"]
    return pd.DataFrame(rows, columns=cols)


def pairwise_display(pairs: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    rows = []
    for _, r in pairs.iterrows():
        m = measures.get(r["measure"])
        rows.append({"dataset": r["dataset"], "arch": r["arch"], "measure": _label(r["measure"], measures),
                     "A": r["a"], "B": r["b"], "seeds": f"{r['n_a']} vs {r['n_b']}",
                     "mean A − B": f"{(r['mean_a'] - r['mean_b']) * m.scale:+.3g}", "p": fmt_p(r["p"]),
                     "p (Holm)": fmt_p(r["p_holm"]), "smallest possible p": fmt_p(r["min_p"]), "result": r["result"]})
    cols = ["dataset", "arch", "measure", "A", "B", "seeds", "mean A − B", "p", "p (Holm)", "smallest possible p",
            "result"]
    return pd.DataFrame(rows, columns=cols)
