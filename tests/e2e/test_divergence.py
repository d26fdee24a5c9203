"""Divergence is a result, not a crash: a run whose losses or samples go NaN/inf stops, says when, keeps its
finite rows and its last good checkpoint, and the sweep goes on; `bench report` counts it."""

from __future__ import annotations

import json
import math

import pytest
import torch
import yaml

import variants
from bench.store.checkpoint import LAST
from bench.config import RunOptions, plan_runs
from bench.report.load import load
from bench.report.tables import runs_display, status_counts
from bench.train.loop import run, run_one
from bench.store.rundir import read_jsonl
from variants.base import LossOut
from variants.gan import Gan


pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_real_divergence_is_marked_and_the_sweep_goes_on_and_report_counts_it(tmp_path, cli_inprocess):
    """LSGAN's real target at 1e30 makes its critic loss (D(x) - 1e30)^2 overflow to inf on the first
    step: a --set that breaks one variant for real (GAN has no such knob and trains normally)."""
    sweep = tmp_path / "div.yaml"
    sweep.write_text(yaml.safe_dump({
        "name": "div", "variants": ["lsgan", "gan"], "archs": ["mlp"], "datasets": ["8gaussians"], "seeds": [0],
        "set": {"target_real": "1e30", "width": 8}, "steps": 20, "evals": 1, "batch_size": 8, "n_eval": 64}))
    code, out, err = cli_inprocess("sweep", str(sweep), "--executor", "debug", "--results", str(tmp_path / "res"))
    assert code == 0, err
    folder = tmp_path / "res" / "div"
    (lsgan,) = folder.glob("lsgan-*")
    (gan,) = folder.glob("gan-*")
    record = json.loads((lsgan / "run.json").read_text())
    assert record["status"] == "diverged" and record["diverged_at_step"] == 1
    d = record["divergence"]
    assert d["where"] == "training losses" and d["window"] == [1, 1] and "d_loss" in d["nonfinite"]
    assert d["last_finite"] is None and "non-finite" in d["reason"]
    assert read_jsonl(lsgan / "metrics.jsonl") == [] and not (lsgan / "ckpt" / LAST).exists()  # nothing NaN kept
    assert f"{lsgan.name}: diverged" in out and f"{gan.name}: done" in out  # the sweep went on
    assert json.loads((gan / "run.json").read_text())["status"] == "done"

    res = load([folder])
    counts = status_counts(res).set_index(["variant", "arch"])
    assert (counts.loc[("lsgan", "mlp"), "diverged"], counts.loc[("lsgan", "mlp"), "done"]) == (1, 0)
    assert (counts.loc[("gan", "mlp"), "diverged"], counts.loc[("gan", "mlp"), "done"]) == (0, 1)
    note = runs_display(res).set_index("status").loc["diverged", "note"]
    assert note == d["reason"]
    code, _, err = cli_inprocess("report", str(folder), "--no-figures", "--format", "md", "--quiet",
                                 "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert d["reason"] in (tmp_path / "rep" / "report.md").read_text()
    # a diverged run is finished: submitting the sweep again leaves it alone
    code, out, _ = cli_inprocess("sweep", str(sweep), "--executor", "debug", "--results", str(tmp_path / "res"))
    assert code == 0 and "submitting 0 runs" in out


class NanFromStep(Gan):
    """Test-only: the standard GAN, whose generator loss turns NaN from generator step NAN_FROM on (as a
    run that blows up mid-training would)."""

    name = "nan-from-step"
    NAN_FROM = 250

    def critic_steps(self, gen_step):
        self.gen_step = gen_step  # the runner asks this once per generator step, before it
        return super().critic_steps(gen_step)

    def generator_loss(self, D, fake):
        out = super().generator_loss(D, fake)
        if self.gen_step < self.NAN_FROM:
            return out
        nan = torch.tensor(float("nan"))
        return LossOut(out.total * nan, {k: v * nan for k, v in out.parts.items()})


def test_divergence_between_evaluations_is_caught_in_its_window_keeping_the_last_finite_row(tmp_path, monkeypatch):
    monkeypatch.setitem(variants.VARIANTS._entries, NanFromStep.name, NanFromStep)
    monkeypatch.setitem(variants.VARIANTS._about, NanFromStep.name, "test-only")
    # 400 steps: the sums are read every 4 steps (1 %); evaluations at 100, 200, 300, 400
    [cfg] = plan_runs([NanFromStep.name], "mlp", "8gaussians", [0], sets={"width": "8"},
                      options=RunOptions.of(steps=400, evals=4, batch_size=8, n_eval=64))
    result = run_one(cfg, tmp_path, "nan", progress=False)
    assert result.status == "diverged"
    record = json.loads((result.path / "run.json").read_text())
    d = record["divergence"]
    first_nan_step = NanFromStep.NAN_FROM + 1  # the step with index 250 is the 251st
    lo, hi = d["window"]
    assert d["where"] == "training losses" and "g_loss" in d["nonfinite"]
    assert lo <= first_nan_step <= hi and hi - lo == 3 and hi == record["diverged_at_step"] == record["step"]
    rows = read_jsonl(result.path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [100, 200]
    assert d["last_finite_step"] == 200 and d["last_finite"] == rows[-1]
    # the checkpoint kept is the last good one, from before the NaN
    assert record["checkpoint"]["step"] == 200
    state = torch.load(result.path / "ckpt" / LAST, weights_only=True)
    assert state["step"] == 200 and all(torch.isfinite(v).all() for v in state["G"].values())
    assert math.isfinite(rows[-1]["g_loss"])


def test_packed_members_diverge_on_their_own_and_packs_keep_per_step_generators(tmp_path):
    diverging = plan_runs(["lsgan"], "mlp", "8gaussians", [0, 1], sets={"width": "8", "target_real": "1e30"},
                          options=RunOptions.of(steps=4, evals=2, batch_size=8, n_eval=64, pack=2))
    results = run(diverging, tmp_path, "p", progress=False)
    for _, r in results:
        record = json.loads((r.path / "run.json").read_text())
        assert r.status == record["status"] == "diverged" and record["divergence"]["window"] == [1, 1]
        assert record["speed"]["pack"] == 2 and record["timings"]["steps_per_s"] < 1e6

    fine = plan_runs(["gan"], "mlp", "8gaussians", [0, 1], sets={"width": "8"},
                     options=RunOptions.of(steps=4, evals=2, batch_size=8, n_eval=64, pack=2))
    for _, r in run(fine, tmp_path, "q", progress=False):
        assert r.status == "done"
        assert sorted(p.name for p in (r.path / "ckpt").glob("G_step_*.pt")) == ["G_step_0000002.pt",
                                                                                  "G_step_0000004.pt"]
