"""Scoring real and fake in one critic call, where that is the same computation; fused Adam on the CPU."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

import bench.arch  # noqa: F401  (registers the archs)
from bench.arch.registry import ARCHS
from bench.train.engine import critic_loss, scores_samples_independently
from variants import VARIANTS


def critic(arch: str, norm: str | None, variant: str = "wgan-gp") -> nn.Module:
    torch.manual_seed(0)
    a = ARCHS.get(arch)
    shape = (2,) if arch == "mlp" else (1, 32, 32)
    _, D = a.build(a.Params(width=8, z_dim=4), shape, "scalar", norm)
    v = VARIANTS.get(variant)(VARIANTS.get(variant).Hyper())
    return v.prepare_critic(D)


@pytest.mark.parametrize("arch, norm, variant, joint", [
    ("mlp", None, "wgan-gp", True),
    ("mlp", None, "wgan", True),
    ("dcgan", "batch", "gan", False),        # batch norm mixes the samples of a batch
    ("dcgan", "layer", "wgan-gp", True),     # layer norm does not
    ("mlp", None, "sngan", False),           # spectral norm's power iteration runs once per call
    ("resnet", "batch", "lsgan", False),
])
def test_which_critics_may_score_both_batches_in_one_call(arch, norm, variant, joint):
    assert scores_samples_independently(critic(arch, norm, variant)) is joint


@pytest.mark.parametrize("arch, norm", [("mlp", None), ("dcgan-nobn", None), ("dcgan", "layer")])
def test_one_call_scores_as_two_calls_do(arch, norm):
    D = critic(arch, norm)
    v = VARIANTS.get("wgan-gp")(VARIANTS.get("wgan-gp").Hyper())
    shape = (2,) if arch == "mlp" else (1, 32, 32)
    real, fake = torch.randn(6, *shape), torch.randn(6, *shape)
    apart = v.score(D, real), v.score(D, fake)
    together = v.score(D, torch.cat([real, fake])).split(6)  # what the engine computes with `joint`
    for a, b in zip(apart, together):
        assert_close(b, a, rtol=1e-6, atol=1e-6)
    # and so do the critic loss and its gradient
    grads = []
    for joint in (False, True):
        D.zero_grad()
        critic_loss(v, D, real, fake, torch.full((6,), 0.3), joint).total.backward()  # with the penalty
        grads.append([p.grad.clone() for p in D.parameters()])
    for a, b in zip(*grads):
        assert_close(b, a, rtol=1e-4, atol=1e-5)  # float rounding: one product of 2N rows vs two of N


def test_the_engine_scores_jointly_only_where_it_may_and_fuses_adam_on_the_cpu():
    from bench.config import RunOptions, plan_runs
    from tests.steps import solo

    for variant, joint in (("wgan-gp", True), ("sngan", False), ("ebgan", False)):  # ebgan: its own critic loss
        t = solo(plan_runs([variant], "mlp", "8gaussians", [0], sets={"width": "8"},
                           options=RunOptions.of(steps=2, evals=1, batch_size=8))[0])
        assert t.joint is joint
        assert all(o.defaults["fused"] for o in (t.opt_g, t.opt_d))
