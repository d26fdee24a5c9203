"""The variant contract (variants/base.py), checked for every registered variant, entry-point plugins
included: a new variant cannot escape it. Each rule, and what the engine promises in return:

  1. D is only called: the losses get a bare function, no module attributes to reach for;
  2. randomness only in critic_noise: the losses draw nothing (neither the run's stream nor torch's);
  3. no host reads in a loss or hook (.item(), float(t), bool(t), .cpu(), .tolist(), .numpy());
  4. after_critic_step changes D in place;
  5. losses are finite on ordinary inputs; a packed run of K = 2 and 3 equals the runs alone; and a run
     stopped between evaluations and resumed from its checkpoint ends bit-identical to a straight one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.testing import assert_close

from bench.config import RunOptions, plan_runs
from bench.train.loop import run, run_one
from bench.train.member import Member
from tests.conftest import read_rows
from tests.unit.test_packed import EXECUTION, assert_checkpoints_close, assert_rows_close, tiny
from variants import VARIANTS

NAMES = VARIANTS.names()  # loads the `bench.variants` entry points too
HOST_READS = {"item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__"}

pytestmark = pytest.mark.usefixtures("one_thread")

# Weights of a packed member and of the run alone agree to 1e-5, except where a variant's losses are
# exactly invariant to some parameter: its gradient is then rounding noise (~1e-8), which Adam
# normalizes into steps of up to lr in either direction, so the two runs' copies of that parameter
# random-walk apart (harmlessly: the losses and the metrics do not see it).
WEIGHT_ATOL = {
    # relativistic losses see only differences of scores: a constant added to the critic's output (its
    # output bias, or a hidden unit feeding it linearly on every sample) changes nothing
    "ragan": 4 * 2e-4,
}


class HostReads(TorchFunctionMode):
    """Records every tensor operation that reads a value back to the host."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in HOST_READS:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def member(name: str, arch: str = "mlp") -> Member:
    (cfg,) = plan_runs([name], arch, "8gaussians", [0], sets={"width": "16"},
                       options=RunOptions.of(steps=2, evals=1, batch_size=8, device="cpu"))
    return Member(cfg)


@pytest.fixture(autouse=True)
def quick_snapshots(monkeypatch):
    """Samples as arrays only (tests/e2e checks the pictures)."""
    monkeypatch.setattr("bench.train.evaluate.save_toy_snapshot",
                        lambda path, score, real, fake, title, draw=True: np.savez(path.with_suffix(".npz"),
                                                                                     fake=fake.cpu().numpy()))


@pytest.mark.parametrize("name", NAMES)
def test_losses_only_call_D_draw_nothing_read_nothing_and_are_finite(name):
    m = member(name)
    v = m.variant
    real = m.real_batch()
    fake = m.G(m.latents(8)).detach()
    noise = v.critic_noise(real)  # the one place a variant draws random numbers
    critic = lambda x: m.D(x)  # noqa: E731  (rule 1: nothing but a call)
    rng, global_rng = v.rng.get_state(), torch.get_rng_state()
    with HostReads() as reads:
        d_out = v.critic_loss(critic, real, fake, noise)
        g_out = v.generator_loss(critic, fake, m.real_batch("real_g")) if v.generator_needs_real \
            else v.generator_loss(critic, fake)
    assert reads.seen == [], f"{name}: a loss read {reads.seen} back to the host (rule 3)"
    assert torch.equal(v.rng.get_state(), rng), f"{name}: a loss drew from the run's stream (rule 2)"
    assert torch.equal(torch.get_rng_state(), global_rng), f"{name}: a loss drew from torch's global stream (rule 2)"
    for which, out in (("critic", d_out), ("generator", g_out)):
        assert out.total.dim() == 0 and torch.isfinite(out.total), (name, which)
        assert out.parts and all(p.dim() == 0 and torch.isfinite(p) and not p.requires_grad
                                 for p in out.parts.values()), (name, which, out.parts)
    d_out.total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.D.parameters()), name


@pytest.mark.parametrize("name", NAMES)
def test_after_critic_step_changes_the_critic_in_place(name):
    m = member(name)
    before = [(p.data_ptr(), p.shape) for p in m.D.parameters()]
    with HostReads() as reads:
        m.variant.after_critic_step(m.D)
    assert [(p.data_ptr(), p.shape) for p in m.D.parameters()] == before, f"{name}: rule 4"
    assert reads.seen == [], f"{name}: after_critic_step read {reads.seen} back to the host (rule 3)"


@pytest.mark.parametrize("name", NAMES)
def test_packed_members_match_runs_alone(tmp_path, name):
    variant = name
    for cfg in tiny(variant, [0, 1, 2]):
        assert run_one(cfg, tmp_path, "alone", progress=False).status == "done"
    for label, seeds in (("k2", [0, 1]), ("k3", [0, 1, 2])):
        results = run(tiny(variant, seeds, pack=len(seeds)), tmp_path, label, progress=False)
        assert [r.status for _, r in results] == ["done"] * len(seeds)
        for cfg, _ in results:
            alone, packed = tmp_path / "alone" / cfg.run_id, tmp_path / label / cfg.run_id
            where = f"{variant} {label} seed {cfg.seed}"
            assert_rows_close(read_rows(alone), read_rows(packed), where)
            assert_checkpoints_close(alone / "ckpt" / "last.pt", packed / "ckpt" / "last.pt", where,
                                     atol=WEIGHT_ATOL.get(name, 1e-5))
            ra, rp = (json.loads((d / "run.json").read_text()) for d in (alone, packed))
            assert set(ra) == set(rp)
            assert {k: v for k, v in ra.items() if k not in EXECUTION} == \
                   {k: v for k, v in rp.items() if k not in EXECUTION}, where
            assert (rp["speed"]["pack"], rp["speed"]["pack_seeds"]) == (len(seeds), seeds)
            assert ra["speed"]["pack"] == 1
            assert sorted(p.name for p in (packed / "samples").iterdir()) == \
                   sorted(p.name for p in (alone / "samples").iterdir()) == ["step_0000002.npz", "step_0000004.npz"]
            for snap in ("step_0000002.npz", "step_0000004.npz"):
                assert_close(np.load(packed / "samples" / snap)["fake"], np.load(alone / "samples" / snap)["fake"],
                             rtol=1e-4, atol=1e-5)
    # different seeds really are different runs inside a pack
    rows = [read_rows(tmp_path / "k3" / c.run_id)[-1]["critic_gap"] for c in tiny(variant, [0, 1, 2])]
    assert len(set(rows)) == 3


@pytest.mark.parametrize("name", NAMES)
def test_a_resumed_run_ends_bit_identical_to_a_straight_one(tmp_path, name):
    (cfg,) = tiny(name, [0], steps=6)  # evaluations at steps 3 and 6
    straight = run_one(cfg, tmp_path, "straight", progress=False)
    polls = iter(range(100))
    stopped = run_one(cfg, tmp_path, "cut", progress=False, stop=lambda: next(polls) == 4)  # after step 5
    assert (straight.status, stopped.status) == ("done", "interrupted")
    assert json.loads((stopped.path / "run.json").read_text())["step"] == 5
    resumed = run_one(cfg, tmp_path, "cut", progress=False)
    assert (resumed.action, resumed.status) == ("resume", "done")
    drop = {"wall_s"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in read_rows(resumed.path)] == \
           [{k: v for k, v in r.items() if k not in drop} for r in read_rows(straight.path)]
    a, b = (torch.load(p / "ckpt" / "last.pt", weights_only=True) for p in (straight.path, resumed.path))
    for net in ("G", "D", "opt_g", "opt_d", "streams"):
        assert_close(b[net], a[net], rtol=0, atol=0, msg=lambda msg: f"{name} {net}: {msg}")
