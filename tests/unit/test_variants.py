"""Each variant wires the right formula, constraint and schedule; values worked out by hand."""

import dataclasses

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from variants import VARIANTS
from variants.base import Variant

t = torch.tensor


class FirstCoordinate(nn.Module):
    """A 'critic' whose score is the first coordinate of its input, so scores are chosen by hand."""

    def forward(self, x):
        return x[:, 0]


def make(name, **overrides) -> Variant:
    cls = VARIANTS.get(name)
    return cls(dataclasses.replace(cls.Hyper(), **overrides), rng=torch.Generator().manual_seed(0))


REAL = t([[1.0, 0.0], [3.0, 0.0]])  # scores 1, 3
FAKE = t([[0.0, 0.0], [-2.0, 0.0]])  # scores 0, -2


@pytest.mark.parametrize(
    "name, d_loss, g_loss",
    [
        # softplus(-1), softplus(-3) | softplus(0), softplus(-2) -> (0.313262 + 0.048587)/2 + (0.693147 + 0.126928)/2
        ("gan", 0.590962, (0.693147 + 2.126928) / 2),  # G: softplus(-0), softplus(2)
        # 1/2 mean((1-1)^2, (3-1)^2) + 1/2 mean(0^2, (-2)^2) = 1 + 1 ; G: 1/2 mean(1, 9) = 2.5
        ("lsgan", 2.0, 2.5),
        # E fake - E real = -1 - 2 = -3 ; G: -E fake = 1
        ("wgan", -3.0, 1.0),
        # relu(1-1), relu(1-3) -> 0 ; relu(1+0), relu(1-2) -> 0.5 ; G: -E fake = 1
        ("sngan", 0.5, 1.0),
    ],
)
def test_scalar_variant_losses(name, d_loss, g_loss):
    v = make(name)
    out = v.critic_loss(FirstCoordinate(), REAL, FAKE)
    assert_close(out.total, t(d_loss), atol=1e-5, rtol=0)
    assert_close(out.parts["gap"], t(2.0 - (-1.0)))  # E score(real) - E score(fake)
    assert_close(v.generator_loss(FirstCoordinate(), FAKE).total, t(g_loss), atol=1e-5, rtol=0)


def test_wgan_gp_adds_weighted_penalty():
    # critic D(x) = 3 x0 + 4 x1: |grad| = 5, penalty (5 - 1)^2 = 16, weight 10 -> 160
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(t([[3.0, 4.0]]))
    D = lambda x: lin(x).view(-1)  # noqa: E731
    v = make("wgan-gp")
    out = v.critic_loss(D, REAL, FAKE)
    # scores real 3, 9 ; fake 0, -6 ; E fake - E real = -3 - 6 = -9 ; total -9 + 160
    assert_close(out.parts["penalty"], t(160.0))
    assert_close(out.total, t(151.0))
    assert_close(make("wgan-gp", gp_weight=5.0).critic_loss(D, REAL, FAKE).total, t(-9.0 + 80.0))


def test_wgan_clips_weights_after_each_step_and_at_start():
    D = nn.Linear(3, 1)
    with torch.no_grad():
        D.weight.copy_(t([[0.5, -0.02, 0.005]]))
        D.bias.fill_(-1.0)
    v = make("wgan")
    v.prepare_critic(D)
    assert_close(D.weight, t([[0.01, -0.01, 0.005]]))
    assert_close(D.bias, t([-0.01]))
    with torch.no_grad():
        D.weight.fill_(2.0)
    make("wgan", clip=0.5).after_critic_step(D)
    assert_close(D.weight, t([[0.5, 0.5, 0.5]]))


def test_wgan_critic_schedule_follows_reference_code():
    v = make("wgan")
    steps = {s: v.critic_steps(s) for s in [0, 1, 24, 25, 26, 499, 500, 501, 1000]}
    assert steps == {0: 100, 1: 100, 24: 100, 25: 5, 26: 5, 499: 5, 500: 100, 501: 5, 1000: 100}
    assert make("gan").critic_steps(0) == 1 and make("wgan-gp").critic_steps(0) == 5


def test_sngan_divides_weights_by_spectral_norm():
    # W = diag(3, 1): largest singular value 3, so the normalized layer computes diag(1, 1/3) x + b
    D = nn.Sequential(nn.Linear(2, 2))
    with torch.no_grad():
        D[0].weight.copy_(t([[3.0, 0.0], [0.0, 1.0]]))
        D[0].bias.copy_(t([0.5, 0.0]))
    torch.manual_seed(0)
    make("sngan").prepare_critic(D)
    for _ in range(20):  # each training-mode forward pass runs one power iteration
        D(torch.zeros(1, 2))
    D.eval()
    assert_close(D(t([[1.0, 1.0]])), t([[1.5, 1 / 3]]), atol=1e-5, rtol=0)
    assert_close(torch.linalg.matrix_norm(D[0].weight, ord=2), t(1.0), atol=1e-5, rtol=0)


class HalfAutoencoder(nn.Module):
    """Encoder = identity, decoder = x / 2: energy(x) = mean((x/2 - x)^2) = mean(x^2) / 4."""

    def forward(self, x):
        return x / 2, x


def test_ebgan_margin_and_pull_away():
    v = make("ebgan")  # margin 1, pull-away weight 0.1
    real = t([[2.0, 0.0], [0.0, 2.0]])  # energies (4/4)/2 = 0.5 each
    fake = t([[0.0, 4.0], [4.0, 4.0]])  # energies 16/8 = 2 and 32/8 = 4
    out = v.critic_loss(HalfAutoencoder(), real, fake)
    # 0.5 + mean(relu(1 - 2), relu(1 - 4)) = 0.5
    assert_close(out.total, t(0.5))
    assert_close(out.parts["gap"], t(3.0 - 0.5))  # realness = -energy
    # G: mean energy 3 + 0.1 * f_PT; codes (0,4), (4,4): cos^2 = 1/2, counted twice / (2*1) = 0.5
    g = v.generator_loss(HalfAutoencoder(), fake)
    assert_close(g.parts["pull_away"], t(0.5))
    assert_close(g.total, t(3.05))
    assert_close(make("ebgan", margin=5.0).critic_loss(HalfAutoencoder(), real, fake).total, t(0.5 + (3 + 1) / 2))


def test_registry_has_the_six_variants_with_valid_defaults():
    assert set(VARIANTS.names()) >= {"gan", "lsgan", "wgan", "wgan-gp", "sngan", "ebgan"}
    for name in VARIANTS.names():
        cls = VARIANTS.get(name)
        assert cls.Hyper().problems() == [], name
        assert cls.__doc__ and cls.__module__.startswith("variants")


def test_paper_defaults():
    h = {n: VARIANTS.get(n).Hyper() for n in VARIANTS.names()}
    assert (h["wgan"].optimizer, h["wgan"].lr_d, h["wgan"].clip, h["wgan"].n_critic) == ("rmsprop", 5e-5, 0.01, 5)
    assert (h["wgan-gp"].gp_weight, h["wgan-gp"].lr_d, h["wgan-gp"].beta1, h["wgan-gp"].beta2) == (10.0, 1e-4, 0.0, 0.9)
    assert h["ebgan"].pt_weight == 0.1
    assert (h["gan"].lr_d, h["gan"].beta1) == (2e-4, 0.5)


def linear_critic(w0: float, w1: float):
    """D(x) = w0 x0 + w1 x1: its input gradient is (w0, w1) at every x."""
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(t([[w0, w1]]))
    return lambda x: lin(x).view(-1)


def test_wgan_lp_penalizes_only_gradients_steeper_than_one():
    v = make("wgan-lp")  # lambda 10
    steep, flat = linear_critic(3.0, 4.0), linear_critic(0.3, 0.4)  # |grad| = 5 and 0.5
    out = v.critic_loss(steep, REAL, FAKE)
    # as WGAN-GP above: max(0, 5 - 1)^2 = 16, x 10 = 160; E fake - E real = -3 - 6 = -9
    assert_close(out.parts["penalty"], t(160.0))
    assert_close(out.total, t(151.0))
    # |grad| = 0.5 < 1: no penalty (the two-sided one would add 10 (0.5 - 1)^2 = 2.5)
    assert_close(v.critic_loss(flat, REAL, FAKE).parts["penalty"], t(0.0))
    assert_close(make("wgan-gp").critic_loss(flat, REAL, FAKE).parts["penalty"], t(2.5))
    assert_close(make("wgan-lp", lp_weight=1.0).critic_loss(steep, REAL, FAKE).parts["penalty"], t(16.0))


def test_ragan_losses_compare_each_batch_with_the_other_ones_mean():
    v = make("ragan")
    assert v.generator_needs_real
    # scores real 1, 3 (mean 2), fake 0, -2 (mean -1)
    # critic: softplus(-(1 + 1)), softplus(-(3 + 1)) -> (0.126928 + 0.018150) / 2 = 0.072539
    #         softplus(0 - 2), softplus(-2 - 2)     -> the same 0.072539; total 0.145078
    out = v.critic_loss(FirstCoordinate(), REAL, FAKE)
    assert_close(out.total, t(0.145078), atol=1e-5, rtol=0)
    assert_close(out.parts["gap"], t(3.0))
    # generator, real and fake swapped: softplus(-(0 - 2)), softplus(-(-2 - 2)) -> (2.126928 + 4.018150) / 2
    #         softplus(1 + 1), softplus(3 + 1) -> the same 3.072539; total 6.145078
    assert_close(v.generator_loss(FirstCoordinate(), FAKE, REAL).total, t(6.145078), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="needs a real batch"):
        v.generator_loss(FirstCoordinate(), FAKE)


def test_r1_penalizes_the_squared_gradient_on_real_data_only():
    v = make("r1")  # gamma 10: weight gamma / 2 = 5
    # D(x) = 3 x0 + 4 x1: |grad|^2 = 25 at every real sample -> 5 x 25 = 125
    out = v.critic_loss(linear_critic(3.0, 4.0), REAL, FAKE)
    assert_close(out.parts["penalty"], t(125.0))
    # plus BCE on scores real 3, 9 and fake 0, -6:
    # (softplus(-3) + softplus(-9)) / 2 + (softplus(0) + softplus(-6)) / 2 = 0.024355 + 0.347812
    assert_close(out.total, t(125.0 + 0.372167), atol=1e-5, rtol=0)
    # D(x) = |x|^2: grad 2x, |grad|^2 = 4 |x|^2 at the real points (1, 0), (3, 0): 4 and 36, mean 20 -> 100;
    # the fake points (|x|^2 = 0 and 4) do not enter
    square = lambda x: (x ** 2).sum(1)  # noqa: E731
    assert_close(v.penalty(square, REAL, FAKE), t(100.0))
    assert_close(make("r1", r1_gamma=2.0).penalty(square, REAL, FAKE), t(20.0))
    assert_close(v.generator_loss(FirstCoordinate(), FAKE).total, t((0.693147 + 2.126928) / 2), atol=1e-5, rtol=0)


def test_the_new_variants_paper_defaults_and_what_their_gap_means():
    lp, ra, r1 = (VARIANTS.get(n) for n in ("wgan-lp", "ragan", "r1"))
    assert (lp.Hyper().lp_weight, lp.Hyper().n_critic, lp.Hyper().lr_d, lp.Hyper().beta2) == (10.0, 5, 1e-4, 0.9)
    assert (ra.Hyper().lr_d, ra.Hyper().beta1, ra.Hyper().beta2, ra.Hyper().n_critic) == (2e-4, 0.5, 0.999, 1)
    assert (r1.Hyper().optimizer, r1.Hyper().lr_d, r1.Hyper().r1_gamma, r1.Hyper().n_critic) == ("rmsprop", 1e-4, 10.0, 1)
    assert lp.estimates_wasserstein and not ra.estimates_wasserstein and not r1.estimates_wasserstein
    assert all("not a distance" in c.gap_meaning for c in (ra, r1)) and "W1 estimate" in lp.gap_meaning


def test_variants_are_found_by_scanning_the_package():
    import pkgutil

    import variants

    modules = {m.name for m in pkgutil.iter_modules(variants.__path__)} - {"base", "losses", "registry"}
    assert {VARIANTS.get(n).__module__.split(".")[-1] for n in VARIANTS.names()} >= modules
