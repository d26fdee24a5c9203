"""Metrics declare what their keys mean; runs record the declarations; `bench report` and `bench eval`
read them from there (bench.metrics.registry, bench.report.measures)."""

from __future__ import annotations

import json

import pytest

from bench.config import RunOptions, plan_runs
from bench.metrics import METRICS
from bench.metrics.registry import KINDS, NEEDS, Key, register
from bench.report.measures import Measures
from bench.train.loop import run_one


def test_every_registered_metric_declares_every_key():
    for name in METRICS.names():
        metric = METRICS.get(name)
        assert metric.keys == tuple(k.name for k in metric.declared), name  # every key it writes is declared
        assert all(isinstance(k, Key) and not k.problems() for k in metric.declared), name
        assert set(metric.needs) <= set(NEEDS) and "samples" in metric.needs, name
        assert all(k.kind in KINDS for k in metric.declared)
    assert METRICS.get("critic_gap").declared[0].kind == "estimate" and "critic" in METRICS.get("critic_gap").needs
    assert {k.name: k.direction for k in METRICS.get("w1_exact").declared} == {"w1_exact": "lower",
                                                                               "w1_exact_space": None}


def test_a_metric_must_declare_its_keys():
    with pytest.raises(ValueError, match="'fid2' is not a bench.metrics.registry.Key"):
        register("undeclared", ("fid2",), "protocol", "about")
    with pytest.raises(ValueError, match="kind 'score' is not one of"):
        register("bad-kind", (Key("x", "x", "lower", "score"),), "protocol", "about")
    with pytest.raises(ValueError, match="needs 'gpu' is not one of"):
        register("bad-needs", (Key("x", "x", "lower"),), "protocol", "about", needs=("samples", "gpu"))
    assert "undeclared" not in METRICS


def test_run_json_records_what_each_key_means_loss_parts_as_diagnostics(tmp_path):
    (cfg,) = plan_runs(["wgan-gp"], "mlp", "8gaussians", [0], sets={"width": "8"},
                       options=RunOptions.of(steps=2, evals=1, batch_size=8, n_eval=64, device="cpu"))
    result = run_one(cfg, tmp_path, "k", progress=False)
    keys = json.loads((result.path / "run.json").read_text())["metric_keys"]
    row = json.loads((result.path / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(row) - {"missing"} <= set(keys)  # every key of the row is declared
    assert keys["critic_gap"]["kind"] == "estimate" and keys["w1_exact"] == {
        "label": "W1 exact", "direction": "lower", "kind": "quality", "metric": "w1_exact", "needs": ["samples"]}
    for part in ("d_loss", "g_loss", "penalty", "critic_gap_train", "wall_s", "step"):
        assert keys[part]["kind"] == "diagnostic", part
    assert "fid" not in keys  # image metrics do not apply to toy data


def records(*declared: dict | None) -> list[dict]:
    return [{"config": {}} if d is None else {"config": {}, "metric_keys": d} for d in declared]


def test_the_report_reads_declarations_and_never_correlates_a_loss_part():
    decl = {"w1_exact": {"label": "W1 exact", "direction": "lower", "kind": "quality"},
            "lp_penalty": {"label": "lp_penalty", "direction": None, "kind": "diagnostic"},
            "my_score": {"label": "my score", "direction": "higher", "kind": "quality"},
            "critic_gap": {"label": "critic gap", "direction": None, "kind": "estimate"}}
    keys = ["critic_gap", "w1_exact", "lp_penalty", "my_score", "unheard_of"]
    m = Measures.of_records(records(decl))
    assert m.quality_keys(keys) == ["w1_exact", "my_score"]  # a key nobody declares is no quality measure
    assert (m.get("my_score").label, m.get("my_score").tracks_sign) == ("my score", "-")
    # an old run (no declarations) reads as it always did: an unknown key is a quality measure there
    old = Measures.of_records(records(None))
    assert old.quality_keys(keys) == ["w1_exact", "lp_penalty", "my_score", "unheard_of"]
    assert old.get("w1_exact").label == "W1 exact" and old.get("lp_penalty").direction is None
    # old and new runs together: each key as its runs say
    both = Measures.of_records(records(decl, None))
    assert both.quality_keys(keys) == ["w1_exact", "my_score", "unheard_of"]


def test_bench_eval_refuses_a_metric_that_needs_the_critic(cli_inprocess, tmp_path):
    code, _, err = cli_inprocess("eval", str(tmp_path), "--metrics", "critic_gap")
    assert code == 2 and "critic_gap: needs the training critic, which is not kept per step" in err
