"""The `bench report` command. Checks everything it can before writing anything."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bench.errors import BenchError

FORMATS = ("md", "latex", "csv", "html")


def parse_formats(text: str) -> list[str]:
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [t for t in items if t not in FORMATS]
    if unknown or not items:
        raise BenchError(f"unknown --format {unknown[0] if unknown else text!r}; give a comma-separated list of: "
                         f"{','.join(FORMATS)}")
    return list(dict.fromkeys(items))


def check_out(out: Path) -> None:
    """The output folder must be a (creatable) writable directory."""
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out} is a file; pass a folder for the report, e.g. --out report")
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                raise BenchError(f"cannot write the report under {parent}; pass a writable folder with --out DIR")
            return


def check_figure_options(res, seed: int | None, step: int | None) -> None:
    """--seed must name a seed of some finished run, --step an evaluation step of some finished run."""
    done = res.runs[res.runs["status"] == "done"]
    if seed is not None and seed not in set(done["seed"]):
        seeds = ",".join(str(s) for s in sorted(set(done["seed"])))
        raise BenchError(f"--seed {seed}: no finished run has that seed; pass one of {seeds or '(none finished)'}")
    if step is not None:
        steps = sorted(set(res.rows.loc[res.rows["run"].isin(done["run"]), "step"])) if len(res.rows) else []
        if step not in steps:
            shown = ",".join(str(s) for s in steps[:12]) + (",..." if len(steps) > 12 else "")
            raise BenchError(f"--step {step}: no finished run was evaluated at that step; pass one of "
                             f"{shown or '(none)'}")


@click.command("report")
@click.argument("results_dirs", nargs=-1, type=click.Path(path_type=Path), metavar="[RESULTS_DIR]...")
@click.option("--out", type=click.Path(path_type=Path), metavar="DIR",
              help="Folder for the report files [default: report/ inside the first RESULTS_DIR].")
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True, metavar="LIST",
              help="Comma-separated outputs: md (report.md), latex (report.tex, booktabs tables), csv (runs.csv, "
                   "the long frame, plus the numbers behind every table), html (report.html, self-contained).")
@click.option("--figures/--no-figures", default=True, show_default=True,
              help="Draw the figures (PNG and PDF under DIR/figures/); --no-figures is faster for huge sweeps.")
@click.option("--title", default="GAN Bench report", show_default=True, help="Title of report.md, .tex and .html.")
@click.option("--quiet", is_flag=True, help="Do not print the tables; only list the files written.")
@click.option("--exclude-flagged", is_flag=True,
              help="Leave runs flagged 'negative W' (a W1-estimating critic's held-out gap below 0) or 'collapsed' "
                   "(0 modes, or final W1 above the constant generator's) out of every mean, correlation, verdict "
                   "and figure; they stay in the run list. Runs at the W1 noise floor are never excluded.")
@click.option("--seed", "seed", type=int, metavar="N",
              help="Figures 3-4 show seed N's run of each variant [default: the median run by final quality].")
@click.option("--step", "step", type=int, metavar="STEP",
              help="Figure 4 shows the samples saved at evaluation step STEP [default: the last]; figure 3 "
                   "includes that step.")
def report_cmd(results_dirs, out, formats, figures, title, quiet, exclude_flagged, seed, step):
    """Verdicts, leaderboards, critic-vs-quality correlations and figures for every run under RESULTS_DIR(s).

    RESULTS_DIR is a results root, one sweep (results/<name>) or one run folder; several may be given
    [default: results]. Runs in progress, interrupted, failed and diverged runs are loaded and
    labelled; statistics use finished runs only, with each run as the unit. Metrics are not
    recomputed: the report reads run.json and metrics.jsonl (merging rows `bench eval` appended);
    only the W1 noise floor of each data set is computed here (and cached). Prints the main tables
    and writes them, with their captions, as report.md / report.tex / *.csv / report.html.
    """
    from bench.report.load import load

    formats = parse_formats(formats)
    sources = list(results_dirs) or [Path("results")]
    res = load(sources)  # raises, before anything is written, on missing or empty folders
    out = out if out is not None else sources[0] / "report"
    check_out(out)
    check_figure_options(res, seed, step)

    from bench.report import render
    from bench.report.build import build
    from bench.report.figures import FigureOptions
    from bench.report.html import write_html

    out.mkdir(parents=True, exist_ok=True)
    report = build(res, out / "figures" if figures else None, exclude_flagged, FigureOptions(seed, step))
    if not quiet:
        shown = ["verdict", "status", "final", "corr_across"]
        if (res.runs["status"] != "done").any() or report.table("runs").data["flags"].fillna("").ne("").any():
            shown.append("runs")
        render.print_tables(report, shown)
    written = []
    if "csv" in formats:
        written += render.write_csv(report, out)
    if "md" in formats:
        written.append(render.write_markdown(report, out, title))
    if "latex" in formats:
        written.append(render.write_latex(report, out, title))
    if "html" in formats:
        written.append(write_html(report, out, title, sources))
    written += [p for f in report.figures for p in (f.png, f.pdf)]
    for p, why in res.ignored:
        click.echo(f"left out {p}: {why}", err=True)
    click.echo(f"wrote {len(written)} files to {out}: " + ", ".join(p.relative_to(out).as_posix() for p in written))
