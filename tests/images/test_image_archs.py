"""Every variant x image architecture builds and trains at 32 x 32: shapes, finite losses, gradients
that reach G, the critic normalization each variant's rule gives, and evaluation that leaves the
networks untouched."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import variants
from bench.arch import ARCHS
from bench.arch.norms import evaluation_mode
from bench.config import RunOptions, plan_runs
from bench.train.engine import Engine
from tests.steps import evaluate_now, resumed, save, solo

IMAGE_ARCHS = [a for a in ARCHS.names() if "image" in ARCHS.get(a).families]
VARIANTS = variants.VARIANTS.names()
SMALL = {"mlp": "32", "dcgan": "8", "dcgan-nobn": "8", "resnet": "8"}  # width: fast on a CPU


def test_every_architecture_serves_images():
    assert set(IMAGE_ARCHS) >= {"mlp", "dcgan", "dcgan-nobn", "resnet"}


def trainer_for(variant: str, arch: str, root, batch: int = 4, n_eval: int = 8, cfg_only: bool = False):
    sets = {"width": SMALL[arch]}
    if variant == "wgan":
        sets.update(warmup_gen_steps="0", burst_every="1000")  # skip the reference code's 100-critic-step bursts
    (cfg,) = plan_runs([variant], arch, "fashion-mnist", [0], sets=sets,
                       options=RunOptions.of(steps=2, batch_size=batch, evals=1, device="cpu", n_eval=n_eval,
                                             data_root=str(root)))
    return cfg if cfg_only else solo(cfg)


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_on_arch(variant, arch, fashion_root, no_system_data):
    torch.set_num_threads(1)
    t = trainer_for(variant, arch, fashion_root)
    z = t.member.latents(4)
    with torch.no_grad():
        x = t.G(z)
        assert x.shape == (4, 1, 32, 32) and x.abs().max() <= 1
        out = t.D(x)
        if t.variant.critic_kind == "autoencoder":
            recon, code = out
            assert recon.shape == x.shape and code.shape[0] == 4 and code.dim() == 2
        else:
            assert out.shape == (4,)
    before = [p.detach().clone() for p in t.G.parameters()]
    for _ in range(2):
        t.train_step()
    assert t.step == 2
    for k, v in {**t.acc_d, **t.acc_g}.items():
        assert torch.isfinite(v), f"{k} is not finite"
    grads = [p.grad for p in t.G.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads), "a G parameter got no gradient"
    assert any(g.abs().sum() > 0 for g in grads)
    assert any(not torch.equal(b, p) for b, p in zip(before, t.G.parameters()))  # G was updated
    row = evaluate_now(t)
    assert math.isfinite(row["critic_gap"]) and math.isfinite(row["w1_exact"]) and row["w1_exact_space"] == "pixel"


@pytest.mark.parametrize("variant,arch,norm", [
    ("wgan", "dcgan", "batch"), ("gan", "dcgan", "batch"), ("wgan-gp", "dcgan", "layer"),
    ("sngan", "dcgan", "none"), ("wgan-gp", "dcgan-nobn", "layer"), ("ebgan", "dcgan", "batch"),
    ("wgan-gp", "resnet", "none"), ("sngan", "resnet", "none"),
])
def test_critic_norm_comes_from_the_variants_rule(variant, arch, norm, fashion_root, no_system_data):
    t = trainer_for(variant, arch, fashion_root)
    assert t.member.critic_norm == norm
    kinds = {type(m) for m in t.D.modules()}
    assert (nn.BatchNorm2d in kinds) == (norm == "batch")
    assert (nn.GroupNorm in kinds) == (norm == "layer")
    if variant == "sngan":  # spectral normalization wraps every conv / linear weight of the critic
        convs = [m for m in t.D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert convs and all(hasattr(m, "parametrizations") for m in convs)


def test_dcgan_nobn_generator_has_no_batch_norm_and_constant_filters():
    G, _ = ARCHS.get("dcgan-nobn").build(ARCHS.get("dcgan-nobn").Params(width=16, z_dim=10), (1, 32, 32), "scalar", "batch")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    hidden = [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)][:-1]
    assert hidden == [16, 16, 16]
    G, _ = ARCHS.get("dcgan").build(ARCHS.get("dcgan").Params(width=16, z_dim=10), (1, 32, 32), "scalar", "batch")
    assert [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)] == [64, 32, 16, 1]


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
@pytest.mark.parametrize("kind", ["scalar", "autoencoder"])
def test_rgb_shapes(arch, kind):
    a = ARCHS.get(arch)
    G, D = a.build(a.Params(width=int(SMALL[arch]), z_dim=16), (3, 32, 32), kind, a.critic_norms[0] if a.critic_norms else None)
    x = G(torch.randn(2, 16))
    assert x.shape == (2, 3, 32, 32)
    out = D(x)
    assert (out[0].shape == x.shape) if kind == "autoencoder" else (out.shape == (2,))


def test_resnet_layout():
    a = ARCHS.get("resnet")
    G, D = a.build(a.Params(width=8, z_dim=16), (3, 32, 32), "scalar", "none")
    assert len(G.blocks) == 3 and len(D.blocks) == 4
    h = D.blocks(torch.randn(2, 3, 32, 32))
    assert h.shape == (2, 8, 8, 8)  # two down-sampling blocks, then two that keep 8 x 8


def test_evaluation_uses_batch_statistics_and_leaves_running_statistics_alone():
    a = ARCHS.get("dcgan")
    G, D = a.build(a.Params(width=4, z_dim=8), (1, 32, 32), "scalar", "batch")
    z = torch.randn(32, 8)
    with torch.no_grad():
        G(torch.randn(32, 8))  # one training-mode pass moves the running statistics off their init
        buffers = {k: v.clone() for k, v in G.named_buffers()}
        expected = G(z)  # training mode: batch statistics
        for k, v in G.named_buffers():
            v.copy_(buffers[k])
        with evaluation_mode(G, D):
            got = G(z)
            assert not D.training and all(m.training for m in D.modules() if isinstance(m, nn.BatchNorm2d))
        G.eval()
        running = G(z)
        G.train()
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, running)  # running statistics would give other samples
    for k, v in G.named_buffers():
        assert torch.equal(v, buffers[k]), f"{k} changed during evaluation"
    assert G.training and D.training


def test_resume_matches_an_uninterrupted_run_with_batch_norm(fashion_root, no_system_data, tmp_path):
    """Evaluation leaves no trace and the data stream is checkpointed: stop-and-resume == straight."""
    torch.set_num_threads(1)
    straight = trainer_for("gan", "dcgan", fashion_root)
    for _ in range(2):
        straight.train_step()
    evaluate_now(straight)
    for _ in range(2):
        straight.train_step()

    first = trainer_for("gan", "dcgan", fashion_root)
    for _ in range(2):
        first.train_step()
    evaluate_now(first)
    save(first, tmp_path / "last.pt")
    again: Engine = resumed(trainer_for("gan", "dcgan", fashion_root, cfg_only=True), tmp_path / "last.pt")
    for _ in range(2):
        again.train_step()
    for a, b in zip(straight.G.state_dict().values(), again.G.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for a, b in zip(straight.D.state_dict().values(), again.D.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
