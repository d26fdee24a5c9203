"""The report's five figures, one function each, saved as PNG and PDF (seaborn on matplotlib's Agg).

  1 curves   the critic's estimate (raw and median-filtered) and FID (W1 on toy data) against
             generator steps, one panel per variant x arch, seeds as bands (WGAN paper, Figs. 3-4)
  2 scatter  estimate vs each quality measure over runs and steps, coloured by variant x arch,
             with the within-run Spearman rho in the legend
  3 toy      toy data: generated samples over the critic's contours, variants x evaluation steps
  4 samples  each variant x arch's final samples side by side
  5 final    final quality over seeds, box and strip plot per variant x arch

Figures 1, 2 and 5 show finished runs only, like the tables; 3 and 4 show one finished run per
variant x arch (the lowest seed). One file per data set, since scales differ between data sets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy.ndimage import median_filter  # noqa: E402

from bench.report.load import FINISHED, GROUP, Results  # noqa: E402
from bench.report.measures import ESTIMATE, curve_key, measure, quality_keys  # noqa: E402
from bench.report.tables import per_run_values  # noqa: E402

MEDIAN_WINDOW = 5  # evaluation steps; the WGAN paper median-filters its estimate curves
TOY_COLUMNS = 6  # evaluation steps shown per variant in figure 3
DPI = 110


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


def _save(fig, out: Path, name: str, title: str, caption: str) -> Figure:
    out.mkdir(parents=True, exist_ok=True)
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    fig.savefig(png, dpi=DPI, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    plt.close(fig)
    return Figure(name, title, caption, png, pdf)


def _grid(n: int, ncols: int, w: float, h: float):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _finished(res: Results) -> pd.DataFrame:
    rows = res.rows[res.rows["status"] == FINISHED].copy() if len(res.rows) else res.rows.copy()
    if len(rows):
        rows["panel"] = panel_labels(rows)
    return rows


def _medfilt(v: pd.Series) -> np.ndarray:
    n = len(v)
    size = max(1, min(MEDIAN_WINDOW, n if n % 2 else n - 1))
    return median_filter(v.to_numpy(float), size=size, mode="nearest")


# -- figure 1 -----------------------------------------------------------------------------------
def curves(res: Results, out: Path) -> list[Figure]:
    rows, figs = _finished(res), []
    if not len(rows) or ESTIMATE not in rows:
        return figs
    palette = sns.color_palette("deep")
    for dataset, d in rows.groupby("dataset"):
        key = curve_key([k for k in quality_keys(res.metric_keys()) if d[k].notna().any()])
        panels = sorted(d["panel"].unique())
        fig, axes = _grid(len(panels), 3, 4.4, 3.2)
        handles = {}
        for ax, panel in zip(axes, panels):
            g = d[d["panel"] == panel].sort_values(["run", "step"]).copy()
            g["filtered"] = g.groupby("run")[ESTIMATE].transform(_medfilt)
            sns.lineplot(g, x="step", y=ESTIMATE, errorbar=None, ax=ax, color=palette[0], lw=0.8, alpha=0.45,
                         label="estimate, raw (mean of seeds)")
            sns.lineplot(g, x="step", y="filtered", errorbar="sd", ax=ax, color=palette[0], lw=2,
                         label=f"estimate, median of {MEDIAN_WINDOW} evals (mean ± sd)")
            ax.set_ylabel("critic estimate (critic_gap)")
            ax.set_xlabel("generator step")
            is_w = bool(res.runs.loc[res.runs["run"].isin(g["run"]), "estimates_wasserstein"].any())
            ax.set_title(f"{panel}  ({'W1 estimate' if is_w else 'not a W1 estimate'})", fontsize=9)
            lines = ax.get_legend_handles_labels()
            ax.get_legend().remove()
            if key:
                m = measure(key)
                ax2 = ax.twinx()
                g["q"] = g[key] * m.scale
                sns.lineplot(g, x="step", y="q", errorbar="sd", ax=ax2, color=palette[3], lw=1.6, ls="--",
                             label=f"{m.label} (mean ± sd)")
                ax2.set_ylabel(m.label + m.arrow, color=palette[3])
                ax2.grid(False)  # the left axis's grid is enough
                h2 = ax2.get_legend_handles_labels()
                ax2.get_legend().remove()
                lines = (lines[0] + h2[0], lines[1] + h2[1])
            handles.update(zip(lines[1], lines[0]))
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=3, fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        m = measure(key) if key else None
        figs.append(_save(
            fig, out, f"1-curves-{_safe(dataset)}", f"Critic estimate and {m.label if m else 'quality'} "
            f"against generator steps — {dataset}",
            f"The critic's held-out estimate critic_gap = E[D(x)] − E[D(G(z))] (left axis; thin: raw, mean over "
            f"seeds; bold: median filter over {MEDIAN_WINDOW} evaluation steps per run, then mean ± sd over seeds) "
            + (f"and {m.label} (right axis, dashed, mean ± sd over seeds; {m.direction} is better) " if m else "")
            + "against generator steps, finished runs only, as in Figures 3–4 of the WGAN paper "
              "(Arjovsky et al. 2017). Only WGAN-family critics estimate W1; for the others the gap is "
              "the quantity their critic maximizes (see the protocol).",
        ))
    return figs


# -- figure 2 -----------------------------------------------------------------------------------
def _rho_lookup(corr: pd.DataFrame) -> dict:
    c = corr[(corr["analysis"] == "within") & (corr["stat"] == "spearman")]
    return {(*(r[g] for g in GROUP), r["measure"]): r["estimate"] for _, r in c.iterrows()}


def scatter(res: Results, corr: pd.DataFrame, out: Path) -> list[Figure]:
    rows, figs = _finished(res), []
    if not len(rows) or ESTIMATE not in rows:
        return figs
    rho = _rho_lookup(corr)
    for dataset, d in rows.groupby("dataset"):
        keys = [k for k in quality_keys(res.metric_keys()) if d[k].notna().any()]
        if not keys:
            continue
        panels = sorted(d["panel"].unique())
        colors = dict(zip(panels, sns.color_palette("tab10" if len(panels) <= 10 else "husl", len(panels))))
        fig, axes = _grid(len(keys), 3, 4.8, 4.0)
        for ax, key in zip(axes, keys):
            m = measure(key)
            for panel in panels:
                g = d[d["panel"] == panel]
                g = g[np.isfinite(g[ESTIMATE]) & np.isfinite(g[key])]
                if not len(g):
                    continue
                r = rho.get((*(g.iloc[0][c] for c in GROUP), key))
                label = f"{panel}  ρ = {r:+.2f}" if r is not None and np.isfinite(r) else f"{panel}  ρ: –"
                ax.scatter(g[ESTIMATE], g[key] * m.scale, s=14, alpha=0.75, color=colors[panel], label=label,
                           edgecolors="none")
            x = d[ESTIMATE].to_numpy(float)
            x = np.abs(x[np.isfinite(x) & (x != 0)])
            if len(x) and x.max() / max(np.percentile(x, 10), 1e-12) > 100:  # scales differ by variant
                ax.set_xscale("symlog", linthresh=float(np.percentile(x, 10)))
            ax.set_xlabel("critic estimate (critic_gap)")
            ax.set_ylabel(m.label + m.arrow)
            ax.legend(fontsize=7, framealpha=0.7, title="within-run Spearman", title_fontsize=7)
        fig.tight_layout()
        figs.append(_save(
            fig, out, f"2-scatter-{_safe(dataset)}", f"Critic estimate against quality — {dataset}",
            "Each point is one evaluation step of one finished run (all seeds), coloured by variant × arch; the "
            "legend gives Spearman's ρ between critic_gap and the measure over these points (the 'within runs, "
            "pooled over seeds' row of the correlation table). Where estimates differ by more than two orders "
            "of magnitude between variants the x axis is symmetric-log (linear near zero).",
        ))
    return figs


# -- representative runs for figures 3 and 4 ----------------------------------------------------
def _representatives(res: Results) -> pd.DataFrame:
    """Per group, the finished run with the lowest seed."""
    runs = res.runs[res.runs["status"] == FINISHED].copy()
    if not len(runs):
        return runs
    runs["panel"] = panel_labels(runs)
    return runs.sort_values("seed").groupby(GROUP, sort=True).head(1).sort_values(["dataset", "panel"])


def _snapshots(run_path: str, suffix: str) -> list[tuple[int, Path]]:
    found = []
    for p in (Path(run_path) / "samples").glob(f"step_*{suffix}"):
        m = re.fullmatch(r"step_(\d+)" + re.escape(suffix), p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def _spread(items: list, k: int) -> list:
    """k items evenly spaced over the list, always including the last."""
    if len(items) <= k:
        return items
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


# -- figure 3 -----------------------------------------------------------------------------------
def toy(res: Results, out: Path) -> list[Figure]:
    figs = []
    reps = _representatives(res)
    for dataset, d in reps.groupby("dataset") if len(reps) else []:
        table = [(r, _spread(_snapshots(r["path"], ".npz"), TOY_COLUMNS)) for _, r in d.iterrows()]
        table = [(r, snaps) for r, snaps in table if snaps]
        if not table:
            continue  # not toy data, or runs from before snapshots were saved
        from bench.plots import draw_toy  # imports torch: only when there are toy snapshots to draw

        ncols = max(len(s) for _, s in table)
        fig, axes = plt.subplots(len(table), ncols, figsize=(2.3 * ncols, 2.3 * len(table)), squeeze=False)
        for i, (r, snaps) in enumerate(table):
            for j in range(ncols):
                ax = axes[i, j]
                if j >= len(snaps):
                    ax.set_visible(False)
                    continue
                step, path = snaps[j]
                with np.load(path) as z:
                    draw_toy(ax, z["critic"], tuple(z["extent"]), z["real"], z["fake"], f"step {step}",
                             colorbar=False, legend=False)
                for artist in ax.collections:  # contours and points as pixels: a small PDF
                    artist.set_rasterized(True)
                ax.set_xticks([])
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(f"{r['panel']}\nseed {r['seed']}", fontsize=9)
        handles = [plt.Line2D([], [], ls="", marker="o", ms=4, color=c, label=lbl)
                   for c, lbl in (("white", "held-out real"), ("#ff6f3c", "generated"))]
        fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, facecolor="#440154", labelcolor="white",
                   bbox_to_anchor=(0.5, -0.01))
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        figs.append(_save(
            fig, out, f"3-toy-{_safe(dataset)}", f"Samples over the critic's contours — {dataset}",
            f"Rows: variant × arch (the finished run with the lowest seed); columns: up to {TOY_COLUMNS} evaluation "
            "steps including the last. Colour: the critic's realness on a grid (higher = more real; scaled per "
            "panel, as critics differ in range); white: held-out real points; orange: generated points from the "
            "fixed latent bank. Redrawn from the samples/step_*.npz the run saved.",
        ))
    return figs


# -- figure 4 -----------------------------------------------------------------------------------
def samples(res: Results, out: Path) -> list[Figure]:
    figs = []
    reps = _representatives(res)
    for dataset, d in reps.groupby("dataset") if len(reps) else []:
        table = [(r, _snapshots(r["path"], ".png")) for _, r in d.iterrows()]
        table = [(r, snaps[-1]) for r, snaps in table if snaps]
        if not table:
            continue
        fig, axes = _grid(len(table), 3, 4.2, 3.9)
        for ax, (r, (step, path)) in zip(axes, table):
            ax.imshow(mpimg.imread(path))
            ax.set_axis_off()
            ax.set_title(f"{r['panel']}  (seed {r['seed']}, step {step})", fontsize=9)
        fig.tight_layout()
        figs.append(_save(
            fig, out, f"4-samples-{_safe(dataset)}", f"Final samples — {dataset}",
            "The sample picture each variant × arch saved at its last evaluation step (the finished run with "
            "the lowest seed), side by side: sample grids from the fixed latent bank for images; samples over "
            "the critic's contours for toy data.",
        ))
    return figs


# -- figure 5 -----------------------------------------------------------------------------------
def final(res: Results, out: Path) -> list[Figure]:
    figs = []
    values = per_run_values(res)
    values = values[(values["status"] == FINISHED) & np.isfinite(values["final"].astype(float))].copy()
    if not len(values):
        return figs
    values["panel"] = panel_labels(values)
    for dataset, d in values.groupby("dataset"):
        keys = [k for k in quality_keys(res.metric_keys()) if k in set(d["measure"])]
        order = sorted(d["panel"].unique())
        fig, axes = _grid(len(keys), 3, max(3.5, 0.75 * len(order) + 1.5), 3.6)
        for ax, key in zip(axes, keys):
            m = measure(key)
            g = d[d["measure"] == key].copy()
            g["value"] = g["final"].astype(float) * m.scale
            sns.boxplot(g, x="panel", y="value", order=order, ax=ax, color="#dde6f0", showfliers=False, width=0.6)
            sns.stripplot(g, x="panel", y="value", order=order, ax=ax, color="#1f3b5a", size=5, jitter=0.15)
            ax.set_xlabel("")
            ax.set_ylabel(f"final {m.label}{m.arrow}")
            ax.tick_params(axis="x", labelrotation=35, labelsize=8)
            for lbl in ax.get_xticklabels():
                lbl.set_horizontalalignment("right")
        fig.tight_layout()
        figs.append(_save(
            fig, out, f"5-final-{_safe(dataset)}", f"Final quality over seeds — {dataset}",
            "Each dot is one finished run's value at its last evaluation step (one per seed); boxes show the "
            "quartiles and whiskers 1.5 × IQR over seeds. Arrows: ↓ lower is better, ↑ higher is better.",
        ))
    return figs


def all_figures(res: Results, corr: pd.DataFrame, out: Path) -> list[Figure]:
    sns.set_theme(style="whitegrid", context="paper")
    try:
        return [*curves(res, out), *scatter(res, corr, out), *toy(res, out), *samples(res, out), *final(res, out)]
    finally:
        sns.reset_orig()
