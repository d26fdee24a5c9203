"""The table printed at the end of `bench run`: one row per run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def _num(x, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def print_summary(outcomes, where: Path, console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 140)
    table = Table(title=f"GAN Bench — {where}", title_justify="left")
    table.add_column("run", justify="left", no_wrap=True)
    for col, justify in [("status", "left"), ("step", "right"), ("critic gap", "right"),
                         ("W1 exact", "right"), ("modes", "right"), ("HQ %", "right"), ("steps/s", "right")]:
        table.add_column(col, justify=justify)
    for o in outcomes:
        r = o.last
        hq = r.get("hq_frac")
        table.add_row(
            o.run_id, o.status, _num(r.get("step"), "d"), _num(r.get("critic_gap"), ".4f"),
            _num(r.get("w1_exact"), ".4f"), _num(r.get("modes"), "d"), "-" if hq is None else f"{100 * hq:.1f}",
            _num(o.steps_per_s, ".1f"),
        )
    console.print(table)
    console.print("critic gap = E[D(x)] - E[D(G(z))] on held-out data (raw critic outputs, no penalty); "
                  "W1 exact = POT emd2 between generated and held-out samples (counts and space in each run's "
                  "run.json protocol); HQ = within 3 std of a mode.")
