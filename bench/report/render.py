"""Write the assembled report as Markdown, LaTeX (booktabs) and CSV, and print it to the terminal.

Markdown tables come from pandas' to_markdown (tabulate), LaTeX from pandas' Styler.to_latex with
booktabs rules; both escape what they print. CSV files hold numbers, not formatted strings:

    runs.csv         the long frame: one row per run x evaluation step x metric, with run labels,
                     status, value, the reason when a value is missing, and its source (the run, or
                     the `bench eval` that recomputed it)
    evals.csv        the wide frame: one row per run x evaluation step, one column per metric
    corr_runs.csv    every per-run correlation (run x estimate x measure x analysis x statistic)
    run_list.csv     one row per run: labels, status, steps, timings, error, sanity flags, folder
    verdicts.csv, status.csv, quality_final.csv, quality_best.csv, pairwise.csv, corr_summary.csv,
    corr_across.csv, floor.csv
                     the numbers behind each table
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from bench.report.build import Report, Table

CSV_NAMES = {"verdict": "verdicts.csv", "status": "status.csv", "final": "quality_final.csv",
             "best": "quality_best.csv", "pairwise": "pairwise.csv", "corr_detail": "corr_summary.csv",
             "corr_across": "corr_across.csv", "floor": "floor.csv", "cost": "cost.csv",
             "runs": "run_list.csv"}

# Characters the tables use, and their LaTeX (text-mode safe) spelling.
LATEX_SYMBOLS = {"±": r"$\pm$", "↓": r"$\downarrow$", "↑": r"$\uparrow$", "ρ": r"$\rho$", "τ": r"$\tau$",
                 "Δ": r"$\Delta$", "−": "$-$", "–": "--", "—": "---", "·": r"$\cdot$", "×": r"$\times$",
                 "≥": r"$\geq$", "≤": r"$\leq$", "α": r"$\alpha$", "†": r"\dag{}"}
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "<": r"\textless{}", ">": r"\textgreater{}"}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -- CSV ------------------------------------------------------------------------------------------
def write_csv(report: Report, out: Path) -> list[Path]:
    res = report.results
    written = []
    for name, frame in [("runs.csv", res.long), ("evals.csv", res.rows), ("corr_runs.csv", report.per_run)] + [
        (CSV_NAMES[t.name], t.data) for t in report.tables
    ]:
        path = out / name
        frame.to_csv(path.with_name(f".{name}.tmp"), index=False)
        os.replace(path.with_name(f".{name}.tmp"), path)
        written.append(path)
    return written


# -- Markdown -------------------------------------------------------------------------------------
def _md_cell(x) -> str:
    return str(x).replace("|", r"\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    if not len(table.display):
        return "_(no rows)_"
    df = table.display.map(_md_cell)
    df.columns = [_md_cell(c) for c in df.columns]
    return df.to_markdown(index=False, disable_numparse=True)  # keep the precision each cell was given


def write_markdown(report: Report, out: Path, title: str) -> Path:
    parts = [f"# {title}", ""]
    for t in report.tables:
        parts += [f"## {t.title}", "", t.caption, "", markdown_table(t), ""]
        parts += [*(f"> {n}" for n in t.notes), ""] if t.notes else []
    if report.figures:
        parts += ["## Figures", ""]
        for f in report.figures:
            rel = f.png.relative_to(out).as_posix()
            parts += [f"### {f.title}", "", f"![{f.title}]({rel})", "", f.caption,
                      f"([PDF]({f.pdf.relative_to(out).as_posix()}))", ""]
    path = out / "report.md"
    _write(path, "\n".join(parts))
    return path


# -- LaTeX ----------------------------------------------------------------------------------------
def latex_text(text: str) -> str:
    """Escape LaTeX's special characters, then spell the tables' symbols in LaTeX."""
    text = "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    for sym, tex in LATEX_SYMBOLS.items():
        text = text.replace(sym, tex)
    return text


def latex_table(table: Table) -> str:
    df = table.display.map(latex_text) if len(table.display) else table.display
    df.columns = [latex_text(c) for c in df.columns]
    body = df.style.hide(axis="index").to_latex(
        hrules=True, caption=latex_text(" ".join([table.caption, *table.notes])),
        label=f"tab:bench-{table.name.replace('_', '-')}",
        position_float="centering", environment="table",
    )
    return body


def write_latex(report: Report, out: Path, title: str) -> Path:
    head = [f"% {title}", "% Generated by `bench report`. Needs \\usepackage{booktabs}; wide tables may need "
            "\\small or \\resizebox.", ""]
    path = out / "report.tex"
    _write(path, "\n".join(head + [latex_table(t) for t in report.tables]))
    return path


# -- terminal -------------------------------------------------------------------------------------
def print_tables(report: Report, names: list[str], console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 160)
    for t in report.tables:
        if t.name not in names:
            continue
        rt = RichTable(title=t.title, title_justify="left", caption=t.caption, caption_justify="left")
        for col in t.display.columns:
            right = pd.api.types.is_numeric_dtype(t.display[col])
            rt.add_column(str(col), justify="right" if right else "left", overflow="fold")
        for row in t.display.itertuples(index=False):
            rt.add_row(*(str(v) for v in row))
        if not len(t.display):
            rt.add_row(*(["(none)"] + [""] * (len(t.display.columns) - 1)))
        console.print(rt)
        for note in t.notes:
            console.print(f"[bold]{escape(note)}[/bold]")
        console.print()
