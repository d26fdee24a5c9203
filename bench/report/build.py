"""Assemble the report: every table with a caption that says exactly what was computed, and the figures.

The renderers (render.py, html.py) only format what is assembled here, so Markdown, LaTeX, CSV,
HTML and the terminal always show the same numbers with the same captions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.report import correlation as C
from bench.report import tables as T
from bench.report.figures import Figure, all_figures
from bench.report.load import Results

FINISHED_ONLY = ("Statistics are over finished runs (status done); runs still running, interrupted, diverged or "
                 "failed are counted in the runs table and never averaged in.")

_CORR_COMMON = (
    f"Point estimates: Spearman's ρ (scipy.stats.spearmanr) and Kendall's τ-b (scipy.stats.kendalltau). Brackets: "
    f"95 % percentile-bootstrap interval (scipy.stats.bootstrap, {C.N_RESAMPLES} resamples, seed {C.SEED}; "
    f"resamples in which a variable is constant are dropped, and the interval is omitted when more than 10 % are). "
    f"'tracks if' is the sign expected when a larger estimate goes with worse samples: + for lower-is-better "
    f"measures (↓), − for higher-is-better ones (↑). A dash means the value is missing; 'note' says why "
    f"(fewer than {C.MIN_N} points, or a constant variable). Finished runs only."
)

CAPTIONS = {
    "status": ("Runs per data set × variant × arch, by status. steps/s: generator steps per second of training "
               "time (evaluation excluded), from run.json timings, mean ± sd over finished runs. " + FINISHED_ONLY),
    "final": ("Final quality: each finished run's value at its last evaluation step; mean ± sd (sample sd, "
              "ddof = 1) over seeds. n = finished runs; '(n=k)' where only k of them have the value. "
              "↓ lower is better, ↑ higher is better; HQ % = share of samples within 3 sd of a mode. " + FINISHED_ONLY),
    "best": ("Best quality reached: each finished run's best value over its evaluation steps (minimum for ↓, "
             "maximum for ↑ measures), then mean ± sd over seeds as in the final-quality table. Measures whose "
             "direction the report does not know have no best value. " + FINISHED_ONLY),
    "corr_within": (
        "Does the critic's estimate track quality — within runs, pooled over seeds. For each variant × arch and "
        "quality measure: the rank correlation between the critic's held-out estimate critic_gap = "
        "E[D(x)] − E[D(G(z))] and the measure over the (critic_gap, measure) pairs at every evaluation step of "
        "every finished run, all seeds pooled (n = pairs; the bootstrap resamples pairs). Both quantities drift "
        "with training time, so this can reflect a shared trend; the next table removes it. " + _CORR_COMMON),
    "corr_diff": (
        "Step-to-step changes. As the within-run table, on the changes between consecutive evaluation steps of "
        "each run (Δcritic_gap, Δmeasure), pooled over seeds (n = changes; the bootstrap resamples them). A "
        "correlation here means the estimate and the measure move together from one evaluation to the next, "
        "not merely that both trend with training time. " + _CORR_COMMON),
    "corr_across": (
        "Across runs at matched steps. At each evaluation step that every finished run of the variant × arch "
        "reached with both values, the rank correlation across runs (seeds); the table gives the mean over those "
        "steps (steps = how many). n = runs, at least 3; the bootstrap resamples whole runs. It asks: at the same "
        "point of training, does the run with the larger estimate have the worse samples? " + _CORR_COMMON),
    "runs": ("Every run found, with its status: done, running (a process holds its lock), interrupted (stopped "
             "without finishing; `bench run` again resumes it), diverged (a NaN or inf in a loss or in the "
             "generated samples: stopped there, its finite rows kept; the note says when) or failed (an error, "
             "shown). step = last evaluation step / scheduled steps."),
}

TITLES = {
    "status": "Runs",
    "final": "Final quality (mean ± sd over seeds)",
    "best": "Best quality over training (mean ± sd over seeds)",
    "corr_within": "Critic estimate vs quality: within runs, pooled over seeds",
    "corr_diff": "Critic estimate vs quality: step-to-step changes",
    "corr_across": "Critic estimate vs quality: across runs at matched steps",
    "runs": "Run list",
}


@dataclass
class Table:
    name: str
    title: str
    caption: str
    display: pd.DataFrame  # formatted strings, for people
    data: pd.DataFrame  # numbers, for machines (CSV)


@dataclass
class Report:
    results: Results
    tables: list[Table]
    corr: pd.DataFrame
    figures: list[Figure] = field(default_factory=list)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def build(res: Results, figures_dir: Path | None) -> Report:
    """All tables; and the figures, written under figures_dir (None: no figures)."""
    counts = T.status_counts(res)
    summary = T.quality_summary(res)
    corr = C.correlations(res)
    tables = [
        Table("status", TITLES["status"], CAPTIONS["status"], T.status_display(counts), counts),
        Table("final", TITLES["final"], CAPTIONS["final"], T.quality_display(summary, counts, "final"),
              summary[summary["which"] == "final"]),
        Table("best", TITLES["best"], CAPTIONS["best"], T.quality_display(summary, counts, "best"),
              summary[summary["which"] == "best"]),
    ]
    for analysis in C.ANALYSES:
        name = f"corr_{analysis}"
        tables.append(Table(name, TITLES[name], CAPTIONS[name], T.corr_display(corr, analysis),
                            corr[corr["analysis"] == analysis]))
    tables.append(Table("runs", TITLES["runs"], CAPTIONS["runs"], T.runs_display(res), res.runs))
    report = Report(res, tables, corr)
    if figures_dir is not None:
        report.figures = all_figures(res, corr, figures_dir)
    return report
