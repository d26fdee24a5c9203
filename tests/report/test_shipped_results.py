"""The shipped studies (results/<study>/, results/README.md) cannot drift from the code or from their
own numbers: each committed report equals a fresh `bench report` of the committed runs, and every
number FINDINGS.md quotes is a number that report shows."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, run_cli

STUDIES = sorted(p.parent.parent for p in (REPO / "results").glob("*/report/report.md"))
FINDINGS = sorted(p for p in (REPO / "results").glob("*/FINDINGS.md"))
# A quoted number: signed, decimal or a percentage. Bare integers (seed counts, steps, years, section
# numbers) are protocol and prose, not measurements, and are not checked; nor is a reference (§4.2).
QUOTED = re.compile(r"(?<![\w.§])[+−-]?\d[\d,]*\.\d+(?: %)?|(?<![\w.§])[+−-]\d[\d,]*(?: %)?|(?<![\w.§])\d[\d,]*(?: %)")


def without_figures(markdown: str) -> str:
    """report.md up to its figures section (figures are not redrawn here; their captions need the PNGs)."""
    return markdown.split("\n## Figures", 1)[0].rstrip()


def test_the_shipped_studies_are_found():
    """Guard against a glob that silently finds nothing (every test below would then pass vacuously)."""
    assert [s.name for s in STUDIES], "no results/<study>/report/report.md committed"
    for study in STUDIES:
        assert any(study.glob("*/run.json")), f"{study} has a report but no runs"


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_the_committed_report_equals_a_fresh_regeneration(tmp_path, study):
    rel = study.relative_to(REPO)
    out = tmp_path / "report"
    done = run_cli("report", str(rel), "--out", str(out), "--format", "md,csv", "--no-figures", "--quiet",
                   cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stderr
    committed = study / "report"
    csvs = sorted(p.name for p in committed.glob("*.csv"))
    # every table's numbers are committed; runs.csv (the long frame, the same values as evals.csv) is not
    assert {"verdicts.csv", "quality_final.csv", "corr_summary.csv", "cost.csv", "evals.csv"} <= set(csvs)
    assert set(csvs) <= {p.name for p in out.glob("*.csv")}
    for name in csvs:
        old, new = pd.read_csv(committed / name), pd.read_csv(out / name)
        # the same rows and labels exactly; numbers to 1e-9 (a BLAS or CPU may differ in the last bits)
        pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, atol=1e-12, obj=f"{rel}/report/{name}")
    title = (committed / "report.md").read_text().splitlines()[0]
    fresh = (out / "report.md").read_text().replace("# GAN Bench report", title, 1)
    assert without_figures(fresh) == without_figures((committed / "report.md").read_text()), \
        f"{rel}/report/report.md differs from a fresh `bench report`: regenerate it (results/README.md)"


def quoted_numbers(text: str) -> list[str]:
    return [m.group(0) for m in QUOTED.finditer(text)]


def test_quoted_numbers_are_recognised():
    text = "rho +0.47 [+0.36, +0.57], p 0.027, 37.0 % of the time, 5 seeds, 3,000 steps, in 2017 (§4.2), −0.21"
    assert quoted_numbers(text) == ["+0.47", "+0.36", "+0.57", "0.027", "37.0 %", "−0.21"]


@pytest.mark.parametrize("findings", FINDINGS, ids=lambda p: p.parent.name)
def test_every_number_in_findings_is_in_the_committed_report(findings: Path):
    report = findings.parent / "report" / "report.md"
    assert report.exists(), f"{findings} has no committed report beside it"
    shown = report.read_text()
    missing = sorted({n for n in quoted_numbers(findings.read_text())
                      if n not in shown and n.replace("−", "-") not in shown})
    assert not missing, f"{findings.relative_to(REPO)} quotes numbers its report does not show: {missing}"
