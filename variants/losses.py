"""Loss formulas, named by what they compute (not by the paper that made them popular).

Every function takes critic outputs ("scores", shape [N]; higher means "more real") and returns a
scalar. Unit tests check each against values worked out by hand.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def bce_critic(s_real: Tensor, s_fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Eq. 1 as a loss: -E[log sigmoid(D(x))] - E[log(1 - sigmoid(D(G(z))))]."""
    return F.softplus(-s_real).mean() + F.softplus(s_fake).mean()


def bce_nonsaturating_generator(s_fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Sec. 3: G maximizes log D(G(z)), i.e. minimizes -E[log sigmoid(D(G(z)))]."""
    return F.softplus(-s_fake).mean()


def least_squares_critic(s_real: Tensor, s_fake: Tensor, a: float, b: float) -> Tensor:
    """Mao et al. 2017, Eq. 2: 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]."""
    return 0.5 * ((s_real - b) ** 2).mean() + 0.5 * ((s_fake - a) ** 2).mean()


def least_squares_generator(s_fake: Tensor, c: float) -> Tensor:
    """Mao et al. 2017, Eq. 2: 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * ((s_fake - c) ** 2).mean()


def wasserstein_critic(s_real: Tensor, s_fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017, Alg. 1: the critic maximizes E[f(x)] - E[f(G(z))]; as a loss, its negative."""
    return s_fake.mean() - s_real.mean()


def wasserstein_generator(s_fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017, Alg. 1: G minimizes -E[f(G(z))]."""
    return -s_fake.mean()


def hinge_critic(s_real: Tensor, s_fake: Tensor) -> Tensor:
    """Lim & Ye 2017; Miyato et al. 2018, Eq. 16: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1.0 - s_real).mean() + F.relu(1.0 + s_fake).mean()


def margin_energy_critic(e_real: Tensor, e_fake: Tensor, margin: float) -> Tensor:
    """Zhao et al. 2017 (EBGAN), Eq. 1: E[D(x)] + E[max(0, m - D(G(z)))], D an energy (lower = real)."""
    return e_real.mean() + F.relu(margin - e_fake).mean()


def pull_away(embeddings: Tensor) -> Tensor:
    """Zhao et al. 2017 (EBGAN), Eq. 7: mean squared cosine similarity over pairs i != j of a batch.

    f_PT(S) = 1 / (N (N - 1)) * sum_i sum_{j != i} (S_i . S_j / (|S_i| |S_j|))^2, S of shape [N, d].
    """
    n = embeddings.shape[0]
    s = F.normalize(embeddings.flatten(1), dim=1)
    cos2 = (s @ s.T) ** 2
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def gradient_penalty(critic, real: Tensor, fake: Tensor, eps: Tensor, input_gradient=None) -> Tensor:
    """Gulrajani et al. 2017, Alg. 1: E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = eps x + (1 - eps) x_fake.

    `eps` has shape [N] (one uniform draw per sample); `critic` maps [N, ...] -> [N].
    `input_gradient`, where the critic has its input gradient in closed form (x -> d sum(critic(x)) / dx,
    differentiable in the weights: bench.arch.mlp.VectorCritic.input_gradient), is used instead of
    autograd: the same gradient at less cost. Otherwise the input gradient comes from torch.func.vjp
    rather than torch.autograd.grad: the same backward kernels, still differentiable in the critic's
    parameters, but it also works inside torch.func.vmap (packed runs) and under torch.compile,
    neither of which can run autograd.grad with create_graph=True.
    """
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    x_hat = eps * real.detach() + (1.0 - eps) * fake.detach()
    if input_gradient is not None:
        grad = input_gradient(x_hat)
    else:
        scores, pullback = torch.func.vjp(critic, x_hat)
        (grad,) = pullback(torch.ones_like(scores))  # d sum(scores) / d x_hat, per sample
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
