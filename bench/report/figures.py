"""The report's figures, one function each, saved as PNG and PDF (seaborn on matplotlib's Agg).

  1 curves   per variant x arch, two panels sharing the step axis: the critic's estimate (held-out,
             and on training batches) on its own axis, the quality measure (FID; W1 on toy data) on
             another; every seed drawn thin, their mean bold, no smoothing (the tables test the raw
             series); the W1 noise floor shaded (WGAN paper, Figs. 3-4, without twin axes)
  2 scatter  estimate against each quality measure, one panel per variant x arch x measure (the gap
             has a variant-specific scale, so variants never share an axis), points coloured by seed,
             the verdict's partial rho and verdict in each panel
  3 toy, 4 samples   see sample_figures.py
  5 final    final quality over seeds: every run a dot (flagged runs as crosses), mean with 95 %
             t-interval; boxes only with at least BOX_MIN runs

All figures use the runs the statistics use (finished; without flagged runs under --exclude-flagged).
One file per data set, since scales differ between data sets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from bench.report import sample_figures as SF  # noqa: E402
from bench.report import stats as S  # noqa: E402
from bench.report.floor import Reference  # noqa: E402
from bench.report.load import FINISHED, GROUP, Results  # noqa: E402
from bench.report.tables import fmt_r, per_run_values  # noqa: E402

FigureOptions = SF.FigureOptions
BOX_MIN = 5  # runs per variant below which figure 5 shows no box
DPI = 110
GAP_NOTE = ("The critic's gap is on a variant-specific scale (clipped, penalized, normalized, or not a distance "
            "at all), so each variant has its own axis; only WGAN-family critics estimate W1.")


@dataclass(frozen=True)
class Figure:
    name: str  # file stem under figures/
    title: str
    caption: str
    png: Path
    pdf: Path


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))


def panel_labels(frame: pd.DataFrame) -> pd.Series:
    """'variant · arch', with the setting hash added where one variant x arch has several settings."""
    several = frame.groupby(["dataset", "variant", "arch"])["setting"].transform("nunique") > 1
    base = frame["variant"].astype(str) + " · " + frame["arch"].astype(str)
    return base.where(~several, base + " · " + frame["setting"].astype(str))


def save(fig, out: Path, name: str, title: str, caption: str) -> Figure:
    out.mkdir(parents=True, exist_ok=True)
    name = _safe(name)
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    fig.savefig(png, dpi=DPI, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    plt.close(fig)
    return Figure(name, title, caption, png, pdf)


def _finished(res: Results) -> pd.DataFrame:
    rows = res.rows[res.rows["status"] == FINISHED].copy() if len(res.rows) else res.rows.copy()
    if len(rows):
        rows["panel"] = panel_labels(rows)
    return rows


def _floor(refs: dict[str, Reference], runs) -> float | None:
    qs = [refs[r].floor_q95 for r in set(runs) if r in refs and refs[r].ok]
    return max(qs) if qs else None


def _seed_lines(ax, g: pd.DataFrame, y: str, color, label: str, scale: float = 1.0, ls: str = "-") -> None:
    for i, (_, run) in enumerate(g.groupby("run", sort=True)):
        ax.plot(run["step"], run[y] * scale, color=color, lw=0.7, alpha=0.35, ls=ls,
                label=f"{label}, each seed" if i == 0 else None)
    mean = g.groupby("step")[y].mean() * scale
    ax.plot(mean.index, mean.to_numpy(), color=color, lw=2.0, ls=ls, label=f"{label}, mean of seeds")


# -- figure 1 -----------------------------------------------------------------------------------
def curves(res: Results, refs, out: Path) -> list[Figure]:
    rows, figs = _finished(res), []
    if not len(rows) or "critic_gap" not in rows:
        return figs
    blue, red, grey = "#1f5a96", "#b0413e", "#7a8a9a"
    for dataset, d in rows.groupby("dataset"):
        key = res.measures.curve_key([k for k in res.measures.quality_keys(res.metric_keys()) if d[k].notna().any()])
        panels = sorted(d["panel"].unique())
        ncols = min(3, len(panels))
        nrows = math.ceil(len(panels) / ncols)
        fig, axes = plt.subplots(2 * nrows, ncols, figsize=(4.6 * ncols, 5.0 * nrows), squeeze=False,
                                 sharex="col")
        handles = {}
        for i, panel in enumerate(panels + [None] * (nrows * ncols - len(panels))):
            top, bottom = axes[2 * (i // ncols), i % ncols], axes[2 * (i // ncols) + 1, i % ncols]
            if panel is None:
                top.set_visible(False)
                bottom.set_visible(False)
                continue
            g = d[d["panel"] == panel].sort_values(["run", "step"])
            _seed_lines(top, g, "critic_gap", blue, "held-out gap")
            if "critic_gap_train" in g and g["critic_gap_train"].notna().any():
                _seed_lines(top, g[["run", "step", "critic_gap_train"]].assign(**{"critic_gap": g["critic_gap_train"]}),
                            "critic_gap", grey, "train gap", ls="--")
            is_w = bool(res.runs.loc[res.runs["run"].isin(g["run"]), "estimates_wasserstein"].any())
            top.set_title(f"{panel}  ({'gap estimates W1' if is_w else 'gap is not a W1 estimate'})", fontsize=9)
            top.set_ylabel("critic gap (own scale)", fontsize=8)
            top.tick_params(labelbottom=False)
            if key:
                m = res.measures.get(key)
                _seed_lines(bottom, g, key, red, m.label, m.scale)
                floor = _floor(refs, g["run"]) if key == "w1_exact" else None
                if floor is not None:
                    bottom.axhspan(0, floor, color="#cccccc", alpha=0.6, lw=0, label="W1 noise floor (95th pct)")
                bottom.set_ylabel(m.label + m.arrow, fontsize=8)
            bottom.set_xlabel("generator step")
            for ax in (top, bottom):
                h, lbl = ax.get_legend_handles_labels()
                handles.update(zip(lbl, h))
        fig.tight_layout()
        fig.legend(handles.values(), handles.keys(), loc="upper center", ncol=3, fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
        m = res.measures.get(key) if key else None
        figs.append(save(
            fig, out, f"1-curves-{dataset}", f"Critic estimate and {m.label if m else 'quality'} against generator "
            f"steps — {dataset}",
            "Per variant × arch, top: the critic's gap E[D(x)] − E[D(G(z))] on held-out data (blue) and on "
            "training batches (grey, dashed); bottom: " + (f"{m.label} ({m.direction} is better)" if m else "—")
            + ". Thin lines: each seed; bold: the mean over seeds at each step. No smoothing: these are the series "
            "the correlation tables test. The two panels have separate axes — co-movement is not an artefact of "
            "scaling two curves onto one box. Grey band: W1 noise floor (values inside it are indistinguishable "
            "from a perfect generator). " + GAP_NOTE + " As in Figures 3–4 of the WGAN paper (Arjovsky et al. 2017).",
        ))
    return figs


# -- figure 2 -----------------------------------------------------------------------------------
def scatter(res: Results, verdicts: pd.DataFrame, out: Path) -> list[Figure]:
    rows, figs = _finished(res), []
    if not len(rows) or "critic_gap" not in rows:
        return figs
    said = {}
    if len(verdicts):
        v = verdicts[verdicts["estimate"] == "critic_gap"]
        said = {(*(r[c] for c in GROUP), r["measure"]): r for _, r in v.iterrows()}
    for dataset, d in rows.groupby("dataset"):
        keys = [k for k in res.measures.quality_keys(res.metric_keys()) if d[k].notna().any()]
        if not keys:
            continue
        panels = sorted(d["panel"].unique())
        seeds = sorted(d["seed"].unique())
        colors = dict(zip(seeds, sns.color_palette("tab10" if len(seeds) <= 10 else "husl", len(seeds))))
        fig, axes = plt.subplots(len(keys), len(panels), figsize=(2.9 * len(panels), 2.6 * len(keys)),
                                 squeeze=False)
        for i, key in enumerate(keys):
            m = res.measures.get(key)
            for j, panel in enumerate(panels):
                ax = axes[i, j]
                g = d[(d["panel"] == panel) & np.isfinite(d["critic_gap"]) & np.isfinite(d[key])]
                for seed, s in g.groupby("seed"):
                    ax.scatter(s["critic_gap"], s[key] * m.scale, s=12, alpha=0.8, color=colors[seed],
                               edgecolors="none", label=f"seed {seed}")
                r = said.get((*(d.loc[d["panel"] == panel, c].iloc[0] for c in GROUP), key))
                text = ("partial ρ " + fmt_r(r["mean"]) + f"\n{r['verdict']}") if r is not None else "no verdict"
                ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=7,
                        bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
                ax.tick_params(labelsize=7)
                if i == 0:
                    ax.set_title(panel, fontsize=9)
                if i == len(keys) - 1:
                    ax.set_xlabel("critic gap (own scale)", fontsize=8)
                if j == 0:
                    ax.set_ylabel(m.label + m.arrow, fontsize=8)
        seen = {}
        for ax in axes.flat:
            seen.update({lbl: h for h, lbl in zip(*ax.get_legend_handles_labels())})
        lbl = sorted(seen, key=lambda t: int(t.split()[-1]))  # "seed N"
        h = [seen[k] for k in lbl]
        fig.tight_layout()
        fig.legend(h, lbl, title="seed", loc="upper center", ncol=min(10, len(seeds)), fontsize=7, title_fontsize=7,
                   frameon=False, bbox_to_anchor=(0.5, 0.0))
        figs.append(save(
            fig, out, f"2-scatter-{dataset}", f"Critic estimate against quality, per variant — {dataset}",
            "One panel per variant × arch (columns) and quality measure (rows); each point is one evaluation step "
            "of one finished run, coloured by seed, so the runs behind each correlation are visible. In each panel: "
            "the verdict's statistic for the held-out gap (mean over runs of the per-run partial Spearman ρ with "
            "training step partialled out) and the verdict. " + GAP_NOTE,
        ))
    return figs


# -- figure 5 -----------------------------------------------------------------------------------
def final(res: Results, refs, flagged: set[str], out: Path) -> list[Figure]:
    figs = []
    values = per_run_values(res)
    values = values[(values["status"] == FINISHED) & np.isfinite(values["final"].astype(float))].copy()
    if not len(values):
        return figs
    values["panel"] = panel_labels(values)
    for dataset, d in values.groupby("dataset"):
        keys = [k for k in res.measures.quality_keys(res.metric_keys()) if k in set(d["measure"])]
        order = sorted(d["panel"].unique())
        ncols = min(3, len(keys))
        nrows = math.ceil(len(keys) / ncols)
        fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                                 figsize=(max(3.5, 0.75 * len(order) + 1.5) * ncols, 3.6 * nrows))
        for ax in axes.flat[len(keys):]:
            ax.set_visible(False)
        boxes = False
        for ax, key in zip(axes.flat, keys):
            m = res.measures.get(key)
            g = d[d["measure"] == key].copy()
            g["value"] = g["final"].astype(float) * m.scale
            g["x"] = g["panel"].map({p: i for i, p in enumerate(order)})
            for i, panel in enumerate(order):
                v = g[g["panel"] == panel]
                if len(v) >= BOX_MIN:
                    boxes = True
                    ax.boxplot(v["value"], positions=[i], widths=0.5, showfliers=False, patch_artist=True,
                               boxprops={"facecolor": "#e4ebf3", "edgecolor": "#8899aa"}, zorder=0,
                               medianprops={"color": "#8899aa"}, whiskerprops={"color": "#8899aa"},
                               capprops={"color": "#8899aa"})
                mean, lo, hi = S.t_interval(v["value"].to_numpy())
                if np.isfinite(lo):
                    ax.errorbar(i + 0.25, mean, yerr=[[mean - lo], [hi - mean]], fmt="D", color="#b0413e", ms=4,
                                capsize=3, label="mean, 95 % CI" if i == 0 else None)
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(g))
            bad = g["run"].isin(flagged).to_numpy()
            ax.scatter(g["x"][~bad] + jitter[~bad], g["value"][~bad], s=22, color="#1f3b5a", label="run")
            if bad.any():
                ax.scatter(g["x"][bad] + jitter[bad], g["value"][bad], s=30, marker="x", color="#d2691e",
                           label="flagged run")
            floor = _floor(refs, g["run"]) if key == "w1_exact" else None
            if floor is not None:
                ax.axhspan(0, floor, color="#cccccc", alpha=0.6, lw=0, label="W1 noise floor")
            ax.set_xticks(range(len(order)), order, rotation=35, ha="right", fontsize=8)
            ax.set_ylabel(f"final {m.label}{m.arrow}")
        seen = {}
        for ax in axes.flat:
            seen.update({lbl: h for h, lbl in zip(*ax.get_legend_handles_labels())})
        fig.tight_layout()
        fig.legend(seen.values(), seen.keys(), loc="upper center", ncol=4, fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
        figs.append(save(
            fig, out, f"5-final-{dataset}", f"Final quality over seeds — {dataset}",
            "Each dot is one finished run's value at its last evaluation step (crosses: runs with a negative-estimate "
            "or collapse flag); red diamond and bar: mean and 95 % t-interval over seeds. "
            + (f"Boxes (quartiles, whiskers 1.5 × IQR) only where a variant has at least {BOX_MIN} runs. " if boxes
               else f"No boxes: a box of fewer than {BOX_MIN} points says nothing the dots do not. ")
            + "Grey band: the W1 noise floor. ↓ lower is better, ↑ higher is better. These measures are computed "
              "the same way for every variant, so they compare across variants.",
        ))
    return figs


def all_figures(res: Results, agg: pd.DataFrame, verdicts: pd.DataFrame, refs: dict[str, Reference],
                out: Path, opts: FigureOptions, flagged: set[str] = frozenset()) -> list[Figure]:
    sns.set_theme(style="whitegrid", context="paper")
    try:
        return [*curves(res, refs, out), *scatter(res, verdicts, out),
                *SF.toy(res, out, save, panel_labels, opts), *SF.samples(res, out, save, panel_labels, opts),
                *final(res, refs, flagged, out)]
    finally:
        sns.reset_orig()
