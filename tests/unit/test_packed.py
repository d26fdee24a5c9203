"""Packed runs (`--pack K`): checkpoints move between packed and single runs, a stopped pack resumes
exactly, finished members are skipped, the stacked module runs each member on its own slice.
(That each member's files are those of the same seed run alone, for every variant at K = 2 and 3, is
part of the variant contract: tests/unit/test_variant_contract.py.)"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from bench.config import RunOptions, plan_runs
from bench.errors import BenchError
from bench.speed import Speed, check
from bench.train.loop import plan_packs, run, run_one
from bench.train.packed import PackedEngine, Stacked
from tests.conftest import read_rows
from variants import VARIANTS
from variants.base import Variant
# Per-run bookkeeping that differs between any two runs, and how the steps ran.
EXECUTION = {"speed", "timings", "pid", "started_at", "finished_at", "argv", "host", "device", "git_commit", "attempts",
             "checkpoint"}  # the checkpoint's sha256: packed floats round differently


@pytest.fixture(autouse=True)
def quick_snapshots(monkeypatch):
    """Samples as arrays only: drawing each snapshot with matplotlib would triple these tests' time
    (tests/e2e checks the pictures)."""

    def save(path, score, real, fake, title, draw=True):
        np.savez(path.with_suffix(".npz"), fake=fake.cpu().numpy())

    monkeypatch.setattr("bench.train.evaluate.save_toy_snapshot", save)


def tiny(variant: str, seeds: list[int], pack: int = 1, steps: int = 4):
    sets = {"width": "32"}
    if variant == "wgan":  # 100 critic steps per generator step for the first 25 would dominate
        sets.update(warmup_gen_steps="1", warmup_critic_steps="3")
    cfgs = plan_runs([variant], "mlp", "8gaussians", seeds, sets=sets,
                     options=RunOptions.of(steps=steps, evals=2, batch_size=16, device="cpu", pack=pack))
    # a smaller evaluation set than the preset's 2,000: exact W1 on 256 points is quick
    return [dataclasses.replace(c, schedule=dataclasses.replace(c.schedule, n_eval=256)) for c in cfgs]


def assert_rows_close(a: list[dict], b: list[dict], where: str, rel: float = 1e-4) -> None:
    assert [r["step"] for r in a] == [r["step"] for r in b], where
    for ra, rb in zip(a, b):
        assert set(ra) == set(rb), where
        for k, v in ra.items():
            if k == "wall_s":
                continue
            if isinstance(v, float):
                assert math.isfinite(rb[k]) and rb[k] == pytest.approx(v, rel=rel, abs=1e-5), (where, k, v, rb[k])
            else:
                assert rb[k] == v, (where, k)


def assert_checkpoints_close(a, b, where: str, atol: float = 1e-5, state_rtol: float | None = 1e-4,
                             state_atol: float | None = None) -> None:
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert sa["step"] == sb["step"], where
    for net in ("G", "D"):
        assert_close(sb[net], sa[net], rtol=1e-4, atol=atol, msg=lambda m: f"{where} {net}: {m}")
    for opt in ("opt_g", "opt_d") if state_rtol is not None else ():
        assert_close(sb[opt]["state"], sa[opt]["state"], rtol=state_rtol, atol=state_atol or atol, check_device=False,
                     msg=lambda m: f"{where} {opt}: {m}")
    for k in sa["streams"]:
        assert torch.equal(sa["streams"][k], sb["streams"][k]), (where, k)


def test_interrupted_pack_resumes_packed_or_alone(tmp_path, monkeypatch):
    """A packed member's checkpoint (stacked optimizer state sliced back) resumes alone, and a pack
    resumes from its members' checkpoints; either way the run ends as if never interrupted."""
    for cfg in tiny("wgan-gp", [0, 1, 2], steps=6):
        run_one(cfg, tmp_path, "alone", progress=False)
    cfgs = tiny("wgan-gp", [0, 1, 2], pack=3, steps=6)  # evaluations (and checkpoints) at steps 3 and 6
    real_step = PackedEngine.train_step

    def stop_after_step_4(self):
        if self.step == 4:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(PackedEngine, "train_step", stop_after_step_4)
    with pytest.raises(KeyboardInterrupt):
        run(cfgs, tmp_path, "p", progress=False)
    monkeypatch.setattr(PackedEngine, "train_step", real_step)
    for cfg in cfgs:
        record = json.loads((tmp_path / "p" / cfg.run_id / "run.json").read_text())
        assert record["status"] in ("failed", "interrupted") and [r["step"] for r in read_rows(tmp_path / "p" / cfg.run_id)] == [3]
    # seed 0 resumes alone; seeds 1 and 2 resume as a pack
    assert run_one(cfgs[0], tmp_path, "p", progress=False).action == "resume"
    assert [r.action for _, r in run(cfgs[1:], tmp_path, "p", progress=False)] == ["resume", "resume"]
    for cfg in cfgs:
        alone, packed = tmp_path / "alone" / cfg.run_id, tmp_path / "p" / cfg.run_id
        assert_rows_close(read_rows(alone), read_rows(packed), f"seed {cfg.seed}")
        assert_checkpoints_close(alone / "ckpt" / "last.pt", packed / "ckpt" / "last.pt", f"seed {cfg.seed}")


def test_a_stopped_pack_checkpoints_between_evaluations_and_resumes_exactly(tmp_path):
    """A scheduler's stop (bench.sweep.jobs) lands between evaluations: every member saves its checkpoint
    with the loss sums so far, and the resumed pack ends as the runs alone do."""
    for cfg in tiny("wgan", [0, 1], steps=6):
        run_one(cfg, tmp_path, "alone", progress=False)
    cfgs = tiny("wgan", [0, 1], pack=2, steps=6)  # evaluations at steps 3 and 6
    polls = iter(range(100))
    # polled after every step (as a run alone is): the fourth poll comes after step 4
    results = run(cfgs, tmp_path, "p", progress=False, stop=lambda: next(polls) == 3)
    assert [r.status for _, r in results] == ["interrupted", "interrupted"]
    for cfg in cfgs:
        assert json.loads((tmp_path / "p" / cfg.run_id / "run.json").read_text())["step"] == 4
    assert [r.action for _, r in run(cfgs, tmp_path, "p", progress=False)] == ["resume", "resume"]
    for cfg in cfgs:
        alone, packed = tmp_path / "alone" / cfg.run_id, tmp_path / "p" / cfg.run_id
        assert_rows_close(read_rows(alone), read_rows(packed), f"seed {cfg.seed}")
        assert_checkpoints_close(alone / "ckpt" / "last.pt", packed / "ckpt" / "last.pt", f"seed {cfg.seed}")


def test_finished_members_are_skipped_and_the_rest_packed(tmp_path):
    (first,) = tiny("gan", [0])
    run_one(first, tmp_path, "x", progress=False)
    results = run(tiny("gan", [0, 1], pack=2), tmp_path, "x", progress=False)
    assert [(c.seed, r.action) for c, r in results] == [(0, "skip"), (1, "new")]


def test_stacked_module_runs_each_member_on_its_own_slice():
    """Convolutions, batch norm (its running statistics per member), group norm and spectral norm
    (each member's own power iteration): the stack equals the members, in training mode."""

    def member(seed):
        torch.manual_seed(seed)
        m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2),
                          nn.GroupNorm(1, 4), nn.Flatten(), nn.Linear(36, 1))
        return VARIANTS.get("sngan")(VARIANTS.get("sngan").Hyper()).prepare_critic(m)

    members = [member(s) for s in range(3)]
    stacked = Stacked(members)
    x = torch.randn(3, 5, 1, 8, 8)
    for _ in range(2):
        out = stacked(x)
        assert_close(out, torch.stack([m(x[k]) for k, m in enumerate(members)]), rtol=1e-5, atol=1e-6)
    fresh = member(7)
    stacked.copy_into(1, fresh)
    assert_close(fresh.state_dict(), members[1].state_dict())
    assert not torch.equal(stacked.buffers_by_name()["1.running_mean"][0],
                           stacked.buffers_by_name()["1.running_mean"][1])


def test_plan_packs_groups_configs_that_differ_only_in_seed():
    cfgs = plan_runs(["gan", "wgan"], "mlp", "8gaussians", [0, 1, 2, 3, 4],
                     options=RunOptions.of(device="cpu", pack=2))
    packs = plan_packs(cfgs)
    assert [[(c.variant, c.seed) for c in p] for p in packs] == [
        [("gan", 0), ("gan", 1)], [("gan", 2), ("gan", 3)], [("gan", 4)],
        [("wgan", 0), ("wgan", 1)], [("wgan", 2), ("wgan", 3)], [("wgan", 4)],
    ]
    single = plan_runs(["gan"], "mlp", "8gaussians", [0, 1], options=RunOptions.of(device="cpu"))
    assert [len(p) for p in plan_packs(single)] == [1, 1]


def test_a_variant_that_cannot_be_packed_is_refused():
    class Unpackable(Variant):
        name = "unpackable"
        packable = False

    with pytest.raises(BenchError, match="cannot be packed"):
        check(Speed(pack=2), "cpu", [Unpackable])
    check(Speed(pack=1), "cpu", [Unpackable])  # alone it runs


class LayerScaled(VARIANTS.get("gan")):
    """Test-only: after every critic step each weight matrix is scaled so that its largest entry is 0.5,
    a per-layer rule (on the stacked tensor, the largest entry of either member would scale both)."""

    name = "layer-scaled"

    @torch.no_grad()
    def after_critic_step(self, D):
        for p in D.parameters():
            if p.dim() == 2:
                p.mul_(0.5 / p.abs().max())


class Rebinding(VARIANTS.get("gan")):
    """Test-only: a constraint that rebinds its parameters (p.data = ...) instead of changing them in place."""

    name = "rebinding"

    @torch.no_grad()
    def after_critic_step(self, D):
        for p in D.parameters():
            p.data = p.data.clamp(-1.0, 1.0)


@pytest.fixture
def test_variants(monkeypatch):
    for cls in (LayerScaled, Rebinding):
        monkeypatch.setitem(VARIANTS._entries, cls.name, cls)
        monkeypatch.setitem(VARIANTS._about, cls.name, "test-only")


def test_a_per_layer_constraint_runs_on_each_member_alone(tmp_path, test_variants):
    for cfg in tiny("layer-scaled", [0, 1]):
        run_one(cfg, tmp_path, "alone", progress=False)
    for cfg, result in run(tiny("layer-scaled", [0, 1], pack=2), tmp_path, "packed", progress=False):
        assert result.status == "done"
        alone, packed = tmp_path / "alone" / cfg.run_id, tmp_path / "packed" / cfg.run_id
        assert_rows_close(read_rows(alone), read_rows(packed), f"seed {cfg.seed}")
        assert_checkpoints_close(alone / "ckpt" / "last.pt", packed / "ckpt" / "last.pt", f"seed {cfg.seed}")
        D = torch.load(packed / "ckpt" / "last.pt", weights_only=True)["D"]
        assert all(v.abs().max() == pytest.approx(0.5) for k, v in D.items() if v.dim() == 2)


def test_a_constraint_that_rebinds_parameters_is_refused_under_packing(tmp_path, test_variants):
    with pytest.raises(BenchError, match="rebound a parameter .* instead of changing it in place"):
        run(tiny("rebinding", [0, 1], pack=2), tmp_path, "packed", progress=False)
    assert run_one(tiny("rebinding", [0])[0], tmp_path, "alone", progress=False).status == "done"  # alone it runs
