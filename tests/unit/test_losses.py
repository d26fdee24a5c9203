"""Each loss formula against values worked out by hand on two or three scores."""

import math

import pytest
import torch
from torch.testing import assert_close

from variants import losses

t = torch.tensor


def sp(x):  # softplus, written out: log(1 + e^x)
    return math.log(1 + math.exp(x))


def test_bce_critic():
    # -E log sigmoid(s_real) - E log(1 - sigmoid(s_fake)) = mean softplus(-s_real) + mean softplus(s_fake)
    # real (0, 2): (ln 2 + ln(1 + e^-2)) / 2 = (0.693147 + 0.126928) / 2 = 0.410038
    # fake (-1, 1): (ln(1 + e^-1) + ln(1 + e)) / 2 = (0.313262 + 1.313262) / 2 = 0.813262
    assert_close(losses.bce_critic(t([0.0, 2.0]), t([-1.0, 1.0])), t(1.223300), atol=1e-6, rtol=0)
    assert_close(losses.bce_critic(t([0.0, 2.0]), t([-1.0, 1.0])).item(), (sp(0) + sp(-2)) / 2 + (sp(-1) + sp(1)) / 2)


def test_bce_nonsaturating_generator():
    # -E log sigmoid(s_fake), s_fake (-1, 1): (1.313262 + 0.313262) / 2
    assert_close(losses.bce_nonsaturating_generator(t([-1.0, 1.0])), t(0.813262), atol=1e-6, rtol=0)


def test_least_squares():
    # 1/2 mean((0.5-1)^2, (1.5-1)^2) + 1/2 mean(0^2, 1^2) = 1/2 * 0.25 + 1/2 * 0.5 = 0.375
    assert_close(losses.least_squares_critic(t([0.5, 1.5]), t([0.0, 1.0]), a=0.0, b=1.0), t(0.375))
    # 1/2 mean((0-1)^2, (1-1)^2) = 0.25
    assert_close(losses.least_squares_generator(t([0.0, 1.0]), c=1.0), t(0.25))
    # the a-b-c targets are used: a = -1, b = 1 -> 1/2 mean(0.25, 0.25) + 1/2 mean(1, 4) = 0.125 + 1.25
    assert_close(losses.least_squares_critic(t([0.5, 1.5]), t([0.0, 1.0]), a=-1.0, b=1.0), t(1.375))


def test_wasserstein():
    # E[f(fake)] - E[f(real)] = -1 - 2 = -3 ; generator: -E[f(fake)] = 1
    assert_close(losses.wasserstein_critic(t([1.0, 3.0]), t([0.0, -2.0])), t(-3.0))
    assert_close(losses.wasserstein_generator(t([0.0, -2.0])), t(1.0))


def test_hinge():
    # real (0.5, 2): relu(0.5), relu(-1) -> mean 0.25 ; fake (-0.5, 1): relu(0.5), relu(2) -> mean 1.25
    assert_close(losses.hinge_critic(t([0.5, 2.0]), t([-0.5, 1.0])), t(1.5))


def test_margin_energy():
    # mean(0.2, 0.4) + mean(relu(1 - 0.5), relu(1 - 2)) = 0.3 + 0.25 = 0.55
    assert_close(losses.margin_energy_critic(t([0.2, 0.4]), t([0.5, 2.0]), margin=1.0), t(0.55))


def test_pull_away():
    # S = (1,0), (0,1), (1,1): squared cosines 0, 1/2, 1/2 for the three pairs, each counted twice:
    # 2 * (0 + 0.5 + 0.5) / (3 * 2) = 1/3
    assert_close(losses.pull_away(t([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), t(1 / 3))
    # identical directions: every cosine is 1 -> 1 ; scale does not matter
    assert_close(losses.pull_away(t([[1.0, 1.0], [3.0, 3.0]])), t(1.0))


def test_gradient_penalty_linear_critic():
    # D(x) = w.x + b has gradient w everywhere: (|w| - 1)^2 = (5 - 1)^2 = 16 for any interpolation
    w = t([3.0, 4.0])
    real, fake = torch.randn(5, 2), torch.randn(5, 2)
    gp = losses.gradient_penalty(lambda x: x @ w + 0.7, real, fake, torch.rand(5))
    assert_close(gp, t(16.0))


def test_gradient_penalty_interpolates_per_sample():
    # D(x) = |x|^2 has gradient 2 x_hat. real (1,0), (0,2); fake 0; eps (1, 0.5) -> x_hat (1,0), (0,1)
    # gradient norms 2 and 2 -> penalty mean((2-1)^2, (2-1)^2) = 1. One eps for the batch would give
    # eps = 1: norms 2, 4 -> (1 + 9) / 2 = 5.
    critic = lambda x: (x**2).sum(1)  # noqa: E731
    real, fake = t([[1.0, 0.0], [0.0, 2.0]]), torch.zeros(2, 2)
    assert_close(losses.gradient_penalty(critic, real, fake, t([1.0, 0.5])), t(1.0))
    # eps (0.5, 0.5): x_hat (0.5, 0), (0, 1): norms 1, 2 -> (0 + 1) / 2
    assert_close(losses.gradient_penalty(critic, real, fake, t([0.5, 0.5])), t(0.5))


def test_gradient_penalty_is_differentiable_in_critic_parameters():
    lin = torch.nn.Linear(2, 1)
    gp = losses.gradient_penalty(lambda x: lin(x).view(-1), torch.randn(4, 2), torch.randn(4, 2), torch.rand(4))
    gp.backward()
    # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    w = lin.weight.detach().view(-1)
    assert_close(lin.weight.grad.view(-1), 2 * (w.norm() - 1) * w / w.norm())


@pytest.mark.parametrize("fn", [losses.bce_critic, losses.hinge_critic, losses.wasserstein_critic])
def test_critic_losses_reward_separation(fn):
    # sanity across formulas: a critic that separates real from fake better has a lower loss
    assert fn(t([3.0, 3.0]), t([-3.0, -3.0])) < fn(t([0.1, 0.1]), t([-0.1, -0.1]))
