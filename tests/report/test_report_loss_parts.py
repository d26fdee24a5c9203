"""Loss parts are diagnostics, never quality measures: real `bench run`s of wgan-lp and of a variant whose
loss part has a name no table in bench/report knows (`lp_penalty`), then a real `bench report` of them.
Nothing in the report may tabulate, rank or correlate a loss part as sample quality."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import variants
from variants.wgan_lp import WganLp

QUALITY = {"w1_exact", "modes", "hq_frac"}  # the toy data's quality measures
LOSS_PARTS = {"d_loss", "g_loss", "penalty", "lp_penalty"}


class NamedLp(WganLp):
    """Test-only: WGAN-LP logging its penalty under a name of its own, as a new variant may."""

    name = "wgan-lp-named"

    def critic_loss_given_scores(self, D, real, fake, noise, s_real, s_fake):
        out = super().critic_loss_given_scores(D, real, fake, noise, s_real, s_fake)
        parts = dict(out.parts)
        parts["lp_penalty"] = parts.pop("penalty")
        return type(out)(out.total, parts)


@pytest.fixture
def runs(tmp_path, monkeypatch, cli_inprocess):
    monkeypatch.setitem(variants.VARIANTS._entries, NamedLp.name, NamedLp)
    monkeypatch.setitem(variants.VARIANTS._about, NamedLp.name, "test-only")
    code, _, err = cli_inprocess("run", "--variants", f"wgan-lp,{NamedLp.name}", "--arch", "mlp", "--seeds", "0-2",
                                 "--steps", "6", "--evals", "3", "--batch-size", "16", "--n-eval", "150",
                                 "--set", "width=32", "--device", "cpu", "--no-progress", "--results", str(tmp_path),
                                 "--name", "lp")
    assert code == 0, err
    return tmp_path / "lp"


def test_loss_parts_of_a_real_run_are_never_quality_measures(runs, cli_inprocess):
    named = [p for p in runs.iterdir() if p.name.startswith(NamedLp.name)]
    assert len(named) == 3
    record = json.loads((named[0] / "run.json").read_text())
    row = json.loads((named[0] / "metrics.jsonl").read_text().splitlines()[-1])
    assert "lp_penalty" in row and "penalty" not in row  # the new part is logged under its own name...
    assert record["metric_keys"]["lp_penalty"]["kind"] == "diagnostic"  # ...and declared a diagnostic

    code, out, err = cli_inprocess("report", str(runs), "--format", "csv", "--no-figures", "--quiet")
    assert code == 0, err
    rep = runs / "report"
    final = pd.read_csv(rep / "quality_final.csv")
    assert set(final["measure"]) == QUALITY
    assert set(final["variant"]) == {"wgan-lp", NamedLp.name}
    for table in sorted(rep.glob("*.csv")):  # every table behind the report: no loss part as a measure
        frame = pd.read_csv(table)
        for column in ("measure", "quality", "vs"):
            if column in frame:
                assert not set(frame[column].dropna().astype(str)) & LOSS_PARTS, (table.name, column)
        assert not set(frame.columns) & {f"{p}_{s}" for p in LOSS_PARTS for s in ("mean", "rho", "tau")}, table.name
    corr = pd.read_csv(rep / "corr_runs.csv")
    assert set(corr["estimate"]) <= {"critic_gap", "critic_gap_train"}
    assert set(corr["measure"]) <= QUALITY and set(corr["measure"]) >= {"w1_exact"}
