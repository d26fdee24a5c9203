"""`bench report` end to end: what it prints, the files it writes, and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from bench.cli import main
from bench.report.build import build
from bench.report.load import load
from bench.report.tables import fmt_ci
from tests.conftest import run_cli as bench
from .report_tree import RUNS, series

FIGURES = ["1-curves-8gaussians", "1-curves-cifar10", "2-scatter-8gaussians", "2-scatter-cifar10",
           "3-toy-8gaussians", "4-samples-8gaussians", "4-samples-cifar10", "5-final-8gaussians",
           "5-final-cifar10"]
CSVS = ["runs.csv", "evals.csv", "corr_runs.csv", "verdicts.csv", "status.csv", "quality_final.csv",
        "quality_best.csv", "pairwise.csv", "corr_summary.csv", "corr_across.csv", "floor.csv", "cost.csv",
        "run_list.csv"]
N_TABLES = 10  # verdict, status, final, best, pairwise, corr_detail, corr_across, floor, cost, runs


def _wgan_final_w1() -> str:
    """The wgan W1 cell of the final leaderboard, from the tree's values: mean [95 % t-interval]."""
    from scipy import stats

    w1 = np.array([series("8gaussians", "wgan", s)["w1_exact"][-1] for s in (0, 1, 2)])
    lo, hi = stats.t.interval(0.95, 2, loc=w1.mean(), scale=stats.sem(w1))
    return fmt_ci(w1.mean(), lo, hi)


def test_prints_the_tables(report):
    _, proc = report
    for title in ["Does the critic's estimate track quality?", "Runs and sanity flags", "Leaderboard: final quality",
                  "across runs at matched steps", "Run list"]:
        assert title in proc.stdout
    assert _wgan_final_w1().split(" [")[0] + " [" in proc.stdout  # the terminal may wrap the rest of the cell
    # the across-runs analysis needs 5 runs; the tree has at most 4 per variant: said once, not per row
    assert proc.stdout.count("needs at least 5 finished runs") == 1
    assert "left out" in proc.stderr and ".replaced-" in proc.stderr


def test_every_figure_is_written_and_readable(report):
    out, _ = report
    for name in FIGURES:
        png, pdf = out / "figures" / f"{name}.png", out / "figures" / f"{name}.pdf"
        img = mpimg.imread(png)
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0  # not a blank canvas
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    assert sorted(p.stem for p in (out / "figures").glob("*.png")) == sorted(FIGURES)


def test_csv_reads_back_equal(report, tree):
    out, _ = report
    res = load([tree])
    for name in CSVS:
        assert (out / name).stat().st_size > 0
    long = pd.read_csv(out / "runs.csv", keep_default_na=False, na_values=[""])
    want = res.long.copy()
    long["missing"] = long["missing"].fillna("")
    pd.testing.assert_frame_equal(long, want, check_dtype=False)
    assert set(long["source"]) == {"run"}  # no `bench eval` rows in this tree
    final = pd.read_csv(out / "quality_final.csv")
    want = build(res, None).table("final").data.reset_index(drop=True)
    pd.testing.assert_frame_equal(final, want, check_dtype=False)
    runs = pd.read_csv(out / "run_list.csv")
    assert dict(zip(runs["run_id"], runs["status"])) == {f"{v}-{a}-{d}-s{s}": st for d, v, a, s, st in RUNS}


def test_latex_has_booktabs_tables_with_every_row(report):
    out, _ = report
    tex = (out / "report.tex").read_text()
    for env in (r"\begin{table}", r"\toprule", r"\bottomrule"):
        assert tex.count(env) == N_TABLES
    for dataset, variant, arch in [("8gaussians", "wgan", "mlp"), ("8gaussians", "gan", "mlp"),
                                   ("cifar10", "wgan-gp", "dcgan")]:
        assert f"{dataset} & {variant} & {arch} & " in tex
    assert r"W1 exact $\downarrow$" in tex and r"HQ \% $\uparrow$" in tex
    assert r"\caption{Each finished run's value at its last evaluation step" in tex
    assert not [ch for ch in tex if ord(ch) > 127]  # every symbol spelled in LaTeX
    # Strings from the results folders come out escaped: the failed run's error message.
    assert r"boom \textless{}script\textgreater{}alert('x')\textless{}/script\textgreater{} \& " in tex
    assert "<script>" not in tex


def test_markdown_has_every_table_and_figure(report):
    out, _ = report
    md = (out / "report.md").read_text()
    assert md.count("\n## ") >= 8
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("|")]
    final = [r for r in rows if r[:3] == ["8gaussians", "mlp", "wgan"]]
    assert any(c.startswith(_wgan_final_w1() + " #") for r in final for c in r)
    assert any(r[:3] == ["sweep/gan-mlp-8gaussians-s2", "diverged", "50 / 50"] for r in rows)
    for name in FIGURES:
        assert f"(figures/{name}.png)" in md


def test_format_subset_and_no_figures(tree, tmp_path, capsys):
    out = tmp_path / "r"
    main(["report", str(tree), "--out", str(out), "--format", "csv,md", "--no-figures", "--quiet"])
    assert sorted(p.name for p in out.iterdir()) == sorted([*CSVS, "report.md"])
    assert f"wrote {len(CSVS) + 1} files" in capsys.readouterr().out


def test_default_out_is_inside_the_results_folder(tree, tmp_path, capsys):
    import shutil

    sweep = tmp_path / "sweep"
    shutil.copytree(tree, sweep)
    main(["report", str(sweep), "--format", "csv", "--no-figures", "--quiet"])
    assert (sweep / "report" / "runs.csv").exists()
    # A second report over the same folder does not mistake the report for runs.
    main(["report", str(sweep), "--format", "csv", "--no-figures", "--quiet"])
    assert len(pd.read_csv(sweep / "report" / "run_list.csv")) == len(RUNS)


def _fails(argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("bench: error: ") and err.count("\n") == 1, err
    return err


def test_user_mistakes_are_one_line_errors_and_write_nothing(tree, tmp_path, capsys):
    out = tmp_path / "out"
    assert "does not exist" in _fails(["report", str(tmp_path / "nope"), "--out", str(out)], capsys)
    (tmp_path / "empty").mkdir()
    assert "no runs under" in _fails(["report", str(tmp_path / "empty"), "--out", str(out)], capsys)
    assert "unknown --format 'pdf'" in _fails(["report", str(tree), "--out", str(out), "--format", "md,pdf"], capsys)
    (tmp_path / "file").write_text("x")
    assert "is a file" in _fails(["report", str(tree), "--out", str(tmp_path / "file")], capsys)
    assert "is a file" in _fails(["report", str(tmp_path / "file"), "--out", str(out)], capsys)
    bad = tmp_path / "bad" / "run-s0"
    bad.mkdir(parents=True)
    (bad / "run.json").write_text(json.dumps({"status": "done"}))  # no config
    assert "run.json is not a run record" in _fails(["report", str(tmp_path / "bad"), "--out", str(out)], capsys)
    assert "--seed 99: no finished run has that seed; pass one of 0,1,2,3" in _fails(
        ["report", str(tree), "--out", str(out), "--seed", "99"], capsys)
    assert "--step 12345: no finished run was evaluated at that step; pass one of 10,20,30,40,50" in _fails(
        ["report", str(tree), "--out", str(out), "--step", "12345"], capsys)
    assert not out.exists()


def test_subprocess_error_exit_code(tmp_path):
    proc = bench("report", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("bench: error: results folder") and proc.stdout == ""


def test_help_documents_every_option():
    proc = bench("report", "--help")
    assert proc.returncode == 0
    for opt in ["--out", "--format", "--figures / --no-figures", "--title", "--quiet", "--exclude-flagged", "--seed N",
                "--step STEP", "RESULTS_DIR"]:
        assert opt in proc.stdout
