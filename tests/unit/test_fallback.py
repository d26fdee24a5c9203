"""No run dies of a speed trick: a failed CUDA-graph capture or torch.compile falls back to eager steps.

On the CPU the failure is simulated (a capture or a compiler that raises), and the fallen-back run
must equal an eager run of the same seed exactly: the failed attempt ran nothing, and the random
streams it advanced are restored before the eager retry. On a CUDA device (`gpu` marker) the
capture fails for real: a variant hook that reads a value on the host cannot be captured.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

import bench.train.capture as capture
from bench.speed import Speed
from bench.train.member import Member
from bench.train.packed import PackedEngine
from tests.steps import solo  # a run's engine over its member, stepped by hand
from tests.unit.test_capture import config, train


class FailingCapture:
    """Stands in for GraphedStep: the first call is the eager warm-up, as the real one's is; the capture
    (call `fail_at`) raises what CUDA raises for an operation that cannot be captured."""

    def __init__(self, fn, generators, device, fail_at: int = 2):
        self.fn, self.calls, self.fail_at = fn, 0, fail_at

    def __call__(self):
        self.calls += 1
        if self.calls >= self.fail_at:
            torch.rand(3, generator=self.fn.__self__.generators()[0])  # a capture that drew numbers, then failed
            raise RuntimeError("CUDA error: operation not permitted when stream is capturing")
        self.fn()


@pytest.fixture
def fake_graphs(monkeypatch):
    """CUDA-graph mode on the CPU: GraphedStep replaced by FailingCapture, capturable optimizers left alone."""
    monkeypatch.setattr(capture, "GraphedStep", FailingCapture)
    monkeypatch.setattr(capture, "set_capturable", lambda opt, on: None)


def params(trainer) -> dict[str, torch.Tensor]:
    return {**{f"G.{k}": v for k, v in trainer.G.named_parameters()},
            **{f"D.{k}": v for k, v in trainer.D.named_parameters()}}


def assert_identical(a, b):
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    for k, g in a.member.streams.items():
        assert torch.equal(g.get_state(), b.member.streams[k].get_state()), k


@pytest.mark.parametrize("variant", ["wgan-gp", "sngan"])
def test_a_failed_capture_falls_back_to_eager_steps_with_the_eager_numbers(variant, fake_graphs, capsys):
    cfg = config(variant)[0]
    eager = train(solo(dataclasses.replace(cfg, speed=Speed(compile="none"))), 4)
    graphed = solo(cfg)
    graphed.compile_mode = "graph"  # what --compile graph resolves to on a CUDA device
    train(graphed, 4)
    fb = graphed.stepper.fallback
    assert fb["from"] == "graph" and fb["to"] == "none" and fb["at_step"] == 0 and fb["in"] == "critic step"
    assert "operation not permitted when stream is capturing" in fb["reason"]
    assert fb["random_streams"].startswith("restored")
    assert graphed.stepper.mode == "none"
    assert_identical(graphed, eager)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CUDA-graph capture of the critic step failed at step 0" in err[0]
    assert "continuing with eager steps" in err[0]


def test_a_capture_that_fails_late_still_goes_on_and_says_its_streams_moved(monkeypatch):
    monkeypatch.setattr(capture, "GraphedStep", lambda fn, g, d: FailingCapture(fn, g, d, fail_at=9))
    monkeypatch.setattr(capture, "set_capturable", lambda opt, on: None)
    trainer = solo(config("wgan-gp")[0])
    trainer.compile_mode = "graph"
    train(trainer, 4)
    assert trainer.step == 4 and trainer.n_d == 20
    fb = trainer.stepper.fallback
    assert fb["at_step"] == 1 and fb["random_streams"].startswith("advanced")


def failing_compile(fn, **kwargs):
    def compiled(*args):
        raise RuntimeError("simulated TorchInductor failure: C++ compile error")

    return compiled


def test_a_failed_compilation_falls_back_to_eager_steps_with_the_eager_numbers(monkeypatch):
    monkeypatch.setattr(capture.torch, "compile", failing_compile)
    cfg = config("wgan-gp")[0]
    eager = train(solo(dataclasses.replace(cfg, speed=Speed(compile="none"))), 3)
    compiled = train(solo(dataclasses.replace(cfg, speed=Speed(compile="compile"))), 3)
    assert compiled.stepper.fallback["from"] == "compile"
    assert "critic_forward" not in compiled.__dict__  # the plain methods are back
    assert_identical(compiled, eager)


def test_a_pack_falls_back_as_a_whole(fake_graphs):
    cfgs = config("wgan-gp", speed=Speed(pack=2), seeds=(0, 1))
    pack = PackedEngine([Member(c) for c in cfgs])
    pack.compile_mode = "graph"
    train(pack, 3)
    assert pack.stepper.fallback["from"] == "graph" and pack.step == 3
    eager = PackedEngine([Member(c) for c in config("wgan-gp", speed=Speed(pack=2, compile="none"), seeds=(0, 1))])
    train(eager, 3)
    for a, b in zip(pack.G.parameters(), eager.G.parameters()):
        assert torch.equal(a, b)


def test_a_real_error_of_the_step_itself_is_not_hidden(fake_graphs, monkeypatch):
    """The eager retry runs the step as --compile none would: an error there is the run's own and raises."""
    trainer = solo(config("wgan-gp")[0])
    trainer.compile_mode = "graph"

    def broken(*args):
        raise ValueError("a bug in the variant's loss")

    monkeypatch.setattr(trainer.variant, "critic_loss_from_scores", broken)  # the formula, whichever path calls it
    with pytest.raises(ValueError, match="a bug in the variant's loss"):
        trainer.train_step()


def test_bench_run_records_the_fallback_and_finishes(tmp_path, cli_inprocess, monkeypatch):
    monkeypatch.setattr(capture.torch, "compile", failing_compile)
    code, out, err = cli_inprocess("run", "--variants", "wgan-gp,gan", "--arch", "mlp", "--steps", "4", "--evals", "2",
                                   "--batch-size", "16", "--set", "width=32", "--compile", "compile",
                                   "--no-progress", "--results", str(tmp_path), "--name", "fb")
    assert code == 0, err
    for run in (tmp_path / "fb").iterdir():
        record = json.loads((run / "run.json").read_text())
        assert record["status"] == "done" and record["step"] == 4
        speed = record["speed"]
        assert speed["compile_requested"] == "compile" and speed["compile"] == "none"
        assert speed["fallback"]["from"] == "compile" and "simulated TorchInductor failure" in speed["fallback"]["reason"]
    lines = [line for line in err.splitlines() if "torch.compile of the" in line]
    assert len(lines) == 2  # one line per run


# -- on a CUDA device: a capture that really fails -------------------------------------------------
@pytest.mark.gpu
def test_a_hook_that_reads_the_host_cannot_be_captured_and_the_run_goes_on_eagerly(monkeypatch, capsys):
    cfg = config("wgan", "cuda", Speed(compile="graph"))[0]
    trainer = solo(cfg)
    clip = trainer.variant.after_critic_step

    def clip_and_sync(D):
        clip(D)
        float(next(D.parameters()).abs().max())  # a host read: not allowed while capturing

    monkeypatch.setattr(trainer.variant, "after_critic_step", clip_and_sync)
    train(trainer, 4)
    assert trainer.stepper.fallback["from"] == "graph" and trainer.step == 4
    assert "CUDA-graph capture" in capsys.readouterr().err
    eager = solo(dataclasses.replace(cfg, speed=Speed(compile="none")))
    monkeypatch.setattr(eager.variant, "after_critic_step", clip_and_sync)
    train(eager, 4)
    for k, v in params(eager).items():
        torch.testing.assert_close(params(trainer)[k], v, rtol=1e-4, atol=1e-6)
