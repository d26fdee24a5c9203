"""Figures 3 and 4: what one run per variant x arch generated, redrawn from its samples/ folder.

  3 toy      toy data: generated samples over the critic's contours, variants x evaluation steps
             (the same steps in every row)
  4 samples  each variant x arch's samples at the last evaluation (or at --step) side by side

The run shown is the median run of its group by final quality (the curve measure: FID, or W1 on toy
data), not the lowest seed, which may be a collapsed one; `--seed N` shows seed N instead.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench.report.load import FINISHED, GROUP, Results  # noqa: E402
from bench.report.tables import per_run_values  # noqa: E402

TOY_COLUMNS = 6  # evaluation steps shown per variant in figure 3


@dataclass(frozen=True)
class FigureOptions:
    seed: int | None = None  # figures 3-4: show this seed's run instead of the median run
    step: int | None = None  # figure 4: samples at this evaluation step instead of the last


def representatives(res: Results, panel_labels, seed: int | None = None) -> tuple[pd.DataFrame, str]:
    """Per group, the finished run shown in figures 3-4, and a sentence saying how it was chosen."""
    runs = res.runs[(res.runs["status"] == FINISHED) & res.runs["run"].isin(set(res.rows["run"]))].copy()
    if not len(runs):
        return runs, ""
    runs["panel"] = panel_labels(runs)
    key = res.measures.curve_key([k for k in res.measures.quality_keys(res.metric_keys()) if res.rows[k].notna().any()])
    finals = {}
    if key:
        v = per_run_values(res)
        v = v[v["measure"] == key]
        finals = dict(zip(v["run"], v["final"].astype(float)))
    picked, said = [], []
    for _, g in runs.groupby(GROUP, sort=True):
        chosen = g[g["seed"] == seed] if seed is not None else g.iloc[0:0]
        if len(chosen):
            picked.append(chosen.iloc[0])
            continue
        vals = g.assign(final=[finals.get(r, np.nan) for r in g["run"]]).dropna(subset=["final"])
        if len(vals):
            vals = vals.sort_values(["final", "seed"], ascending=res.measures.get(key).direction != "higher")
            picked.append(vals.iloc[(len(vals) - 1) // 2])
        else:
            picked.append(g.sort_values("seed").iloc[0])
        if seed is not None:
            said.append(f"{g['panel'].iloc[0]} has no finished seed {seed}: its median run is shown")
    m = res.measures.get(key) if key else None
    how = (f"seed {seed} where finished" if seed is not None else
           f"the median run by final {m.label} (rank ⌈n/2⌉ from the best)" if m else "the lowest seed")
    return pd.DataFrame(picked).sort_values(["dataset", "panel"]), how + ("; " + "; ".join(said) if said else "")


def title_lines(panel: str, width: int = 40) -> str:
    """A panel name wrapped at its spaces, so a long setting name cannot run into the next panel's title."""
    return "\n".join(textwrap.wrap(panel, width, break_long_words=False, break_on_hyphens=False))


def snapshots(run_path: str, suffix: str) -> dict[int, Path]:
    found = {}
    for p in (Path(run_path) / "samples").glob(f"step_*{suffix}"):
        m = re.fullmatch(r"step_(\d+)" + re.escape(suffix), p.name)
        if m:
            found[int(m.group(1))] = p
    return dict(sorted(found.items()))


def spread(items: list, k: int, must: int | None = None) -> list:
    """At most k items at an even stride, counted back from the last one (so columns are evenly spaced
    and always include the last); `must` replaces the nearest of them if it is not already there."""
    if len(items) > k:
        stride = math.ceil((len(items) - 1) / (k - 1))
        chosen = [items[i] for i in range(len(items) - 1, -1, -stride)][::-1]
    else:
        chosen = list(items)
    if must is not None and must in items and must not in chosen:
        nearest = min(range(len(chosen) - 1), key=lambda i: abs(chosen[i] - must)) if len(chosen) > 1 else 0
        chosen = sorted({*chosen[:nearest], must, *chosen[nearest + 1:]})
    return chosen


def toy(res, out: Path, save, panel_labels, opts: FigureOptions) -> list:
    figs = []
    reps, how = representatives(res, panel_labels, opts.seed)
    for dataset, d in reps.groupby("dataset") if len(reps) else []:
        table = [(r, snapshots(r["path"], ".npz")) for _, r in d.iterrows()]
        table = [(r, snaps) for r, snaps in table if snaps]
        if not table:
            continue  # not toy data, or runs from before snapshots were saved
        from bench.train.plots import draw_toy  # imports torch: only when there are toy snapshots to draw

        common = sorted(set.intersection(*(set(s) for _, s in table)))
        steps = spread(common or sorted(set().union(*(set(s) for _, s in table))), TOY_COLUMNS, opts.step)
        fig, axes = plt.subplots(len(table), len(steps), figsize=(2.3 * len(steps), 2.3 * len(table)), squeeze=False)
        for i, (r, snaps) in enumerate(table):
            for j, step in enumerate(steps):
                ax = axes[i, j]
                ax.set_xticks([])
                ax.set_yticks([])
                if step not in snaps:
                    ax.text(0.5, 0.5, "no snapshot", ha="center", va="center", transform=ax.transAxes, fontsize=8)
                else:
                    with np.load(snaps[step]) as z:
                        draw_toy(ax, z["critic"], tuple(z["extent"]), z["real"], z["fake"], "", colorbar=False,
                                 legend=False)
                    for artist in ax.collections:  # contours and points as pixels: a small PDF
                        artist.set_rasterized(True)
                    ax.set_xticks([])
                    ax.set_yticks([])
                if i == 0:
                    ax.set_title(f"step {step}", fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"{r['panel']}\nseed {r['seed']}", fontsize=9)
        handles = [plt.Line2D([], [], ls="", marker="o", ms=4, color=c, label=lbl)
                   for c, lbl in (("white", "held-out real"), ("#ff6f3c", "generated"))]
        fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, facecolor="#440154", labelcolor="white",
                   bbox_to_anchor=(0.5, -0.01))
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        figs.append(save(
            fig, out, f"3-toy-{dataset}", f"Samples over the critic's contours — {dataset}",
            f"Rows: variant × arch, one run each ({how}); columns: the same {len(steps)} evaluation steps in every "
            "row, including the last. Colour: the critic's realness on a grid (higher = more real; scaled per panel, "
            "as critics differ in range); white: held-out real points; orange: generated points from the fixed "
            "latent bank. Redrawn from the samples/step_*.npz the run saved.",
        ))
    return figs


def samples(res, out: Path, save, panel_labels, opts: FigureOptions) -> list:
    figs = []
    reps, how = representatives(res, panel_labels, opts.seed)
    for dataset, d in reps.groupby("dataset") if len(reps) else []:
        table, lacking = [], []
        for _, r in d.iterrows():
            snaps = snapshots(r["path"], ".png")
            if opts.step is not None:
                if opts.step in snaps:
                    table.append((r, opts.step, snaps[opts.step]))
                elif snaps:
                    lacking.append(r["panel"])
            elif snaps:
                step = max(snaps)
                table.append((r, step, snaps[step]))
        if not table:
            continue
        ncols = max(1, min(3, len(table)))
        nrows = -(-len(table) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.9 * nrows), squeeze=False)
        for ax in axes.flat[len(table):]:
            ax.set_visible(False)
        for ax, (r, step, path) in zip(axes.flat, table):
            ax.imshow(mpimg.imread(path))
            ax.set_axis_off()
            ax.set_title(title_lines(r["panel"]) + f"\n(seed {r['seed']}, step {step})", fontsize=9)
        fig.tight_layout()
        when = f"at step {opts.step}" if opts.step is not None else "at its last evaluation step"
        figs.append(save(
            fig, out, f"4-samples-{dataset}", f"Samples — {dataset}",
            f"The sample picture each variant × arch saved {when}, one run each ({how}): sample grids from the "
            "fixed latent bank for images; samples over the critic's contours for toy data."
            + (f" No snapshot at step {opts.step}: {', '.join(lacking)}." if lacking else ""),
        ))
    return figs
