"""Assemble the report: every table with a caption that says exactly what was computed, and the figures.

The renderers (render.py, html.py) only format what is assembled here, so Markdown, LaTeX, CSV,
HTML and the terminal always show the same numbers with the same captions.

Order of work: flags first (they need every run), then, with --exclude-flagged, a copy of the results
without the flagged runs' rows; every statistic, table and figure is computed on that copy, while the
run list and the status counts still show every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.report import correlation as C
from bench.report import cost as K
from bench.report import display as D
from bench.report import leaderboard as L
from bench.report import tables as T
from bench.report.captions import CAPTIONS, TITLES
from bench.report.figures import Figure, FigureOptions, all_figures
from bench.report.flags import defective, flagged_runs, run_flags
from bench.report.floor import Reference, references
from bench.report.load import Results
from bench.report.verdict import design_line, verdicts


@dataclass
class Table:
    name: str
    title: str
    caption: str
    display: pd.DataFrame  # formatted strings, for people
    data: pd.DataFrame  # numbers, for machines (CSV)
    notes: list[str] = field(default_factory=list)  # lines printed under the table


@dataclass
class Report:
    results: Results  # every run (the run list, the protocol)
    used: Results  # the runs the statistics use (without excluded runs' rows)
    tables: list[Table]
    per_run: pd.DataFrame  # every per-run correlation (corr_runs.csv)
    refs: dict[str, Reference]
    figures: list[Figure] = field(default_factory=list)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def floor_table(refs: dict[str, Reference]) -> pd.DataFrame:
    seen = {(r.dataset, r.n): r for r in refs.values()}
    return pd.DataFrame([{"dataset": r.dataset, "points per side": r.n, "floor_mean": r.floor_mean,
                          "floor_sd": r.floor_sd, "floor_q95": r.floor_q95, "scale": r.scale, "pairs": r.pairs,
                          "how": r.how or f"missing: {r.reason}"} for (_, _), r in sorted(seen.items())],
                        columns=["dataset", "points per side", "floor_mean", "floor_sd", "floor_q95", "scale", "pairs",
                                 "how"])


def floor_display(data: pd.DataFrame) -> pd.DataFrame:
    out = data[["dataset", "points per side"]].copy()
    out["floor (mean ± sd)"] = [T.fmt(m) if pd.isna(s) else f"{m:.{T.decimals(s)}f} ± {s:.2g}"
                                for m, s in zip(data["floor_mean"], data["floor_sd"])]
    out["95th percentile"] = [T.fmt(v) for v in data["floor_q95"]]
    out["scale"] = [T.fmt(v) for v in data["scale"]]
    out["how"] = data["how"]
    return out


def build(res: Results, figures_dir: Path | None, exclude_flagged: bool = False,
          figure_options: FigureOptions | None = None) -> Report:
    """All tables; and the figures, written under figures_dir (None: no figures)."""
    with_w1 = set(res.rows.loc[res.rows["w1_exact"].notna(), "run"]) if "w1_exact" in res.rows else set()
    refs = references({r: rec for r, rec in res.records.items() if r in with_w1})
    flags = run_flags(res, refs)
    used = res.without(defective(flags, res)) if exclude_flagged else res
    flagged = flagged_runs(flags)

    per = C.exclude(C.per_run(res), used.excluded)
    agg = C.aggregate(per, res, flagged)
    v = verdicts(agg, res.measures)
    across, across_note = C.across_runs(used)
    board = L.leaderboard(used, refs, flagged)
    pairs, pair_notes = L.pairwise(used)
    counts = T.status_counts(used, flags)
    floors = floor_table(refs)

    excluded_note = ([f"--exclude-flagged: {len(used.excluded)} flagged runs are left out of every statistic below "
                      "(they stay in the run list)."] if used.excluded else [])
    tables = [
        Table("verdict", TITLES["verdict"], CAPTIONS["verdict"], D.verdict_display(v, res.measures), v,
              [design_line(v, per), *excluded_note]),
        Table("status", TITLES["status"], CAPTIONS["status"], T.status_display(counts), counts),
        Table("final", TITLES["final"], CAPTIONS["final"], D.leaderboard_display(board, "final", res.measures),
              board[board["which"] == "final"]),
        Table("best", TITLES["best"], CAPTIONS["best"], D.leaderboard_display(board, "best", res.measures),
              board[board["which"] == "best"]),
        Table("pairwise", TITLES["pairwise"], CAPTIONS["pairwise"], D.pairwise_display(pairs, res.measures), pairs,
              pair_notes),
        Table("corr_detail", TITLES["corr_detail"], CAPTIONS["corr_detail"], D.detail_display(agg, res.measures), agg),
        Table("corr_across", TITLES["corr_across"], CAPTIONS["corr_across"], D.across_display(across, res.measures),
              across, [across_note] if across_note else []),
    ]
    if len(floors):
        tables.append(Table("floor", TITLES["floor"], CAPTIONS["floor"], floor_display(floors), floors))
    cost = K.cost_table(res)
    if len(cost):
        tables.append(Table("cost", TITLES["cost"], CAPTIONS["cost"], K.cost_display(cost, D.index_cols(cost)), cost))
    run_data = res.runs.merge(flags, on="run", how="left")
    tables.append(Table("runs", TITLES["runs"], CAPTIONS["runs"], T.runs_display(used, flags), run_data))
    report = Report(res, used, tables, per, refs)
    if figures_dir is not None:
        report.figures = all_figures(used, agg, v, refs, figures_dir, figure_options or FigureOptions(), flagged)
    return report
