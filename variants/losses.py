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


def relativistic_average_critic(s_real: Tensor, s_fake: Tensor) -> Tensor:
    """Jolicoeur-Martineau 2019 (RaSGAN), the critic's loss, with C the critic's raw output:
    -E[log sigmoid(C(x) - E C(G(z)))] - E[log(1 - sigmoid(C(G(z)) - E C(x)))]."""
    return F.softplus(-(s_real - s_fake.mean())).mean() + F.softplus(s_fake - s_real.mean()).mean()


def relativistic_average_generator(s_real: Tensor, s_fake: Tensor) -> Tensor:
    """Jolicoeur-Martineau 2019 (RaSGAN), the generator's loss: the critic's with real and fake swapped,
    -E[log sigmoid(C(G(z)) - E C(x))] - E[log(1 - sigmoid(C(x) - E C(G(z))))]."""
    return relativistic_average_critic(s_fake, s_real)


# -- penalties: small formulas over one input-gradient helper --------------------------------------
def input_gradient(D, x: Tensor) -> Tensor:
    """d sum(D(x)) / dx per sample, differentiable in D's parameters, for a critic D: [N, ...] -> [N].

    Where D has its input gradient in closed form (`D.input_gradient`: bench.arch.mlp.VectorCritic,
    alone or as one member of a packed run), that is used: the same gradient at less cost. Otherwise it
    comes from torch.func.vjp rather than torch.autograd.grad: the same backward kernels, still
    differentiable in the critic's parameters, but it also works inside torch.func.vmap (packed runs)
    and under torch.compile, neither of which can run autograd.grad with create_graph=True. A function
    (e.g. `lambda x: D(x)`) has no closed form and always goes through vjp.
    """
    closed_form = getattr(D, "input_gradient", None)
    if closed_form is not None:
        return closed_form(x)
    scores, pullback = torch.func.vjp(D, x)
    (grad,) = pullback(torch.ones_like(scores))  # d sum(scores) / d x, per sample
    return grad


def interpolates(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """Gulrajani et al. 2017, Alg. 1, line 6: x_hat = eps x + (1 - eps) x_fake, eps of shape [N]."""
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    return eps * real.detach() + (1.0 - eps) * fake.detach()


def _norms(grad: Tensor) -> Tensor:
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(D, real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """Gulrajani et al. 2017, Alg. 1 (two-sided): E[(||grad D(x_hat)||_2 - 1)^2] at the interpolates."""
    return ((_norms(input_gradient(D, interpolates(real, fake, eps))) - 1.0) ** 2).mean()


def lipschitz_penalty(D, real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """Petzka, Fischer & Lukovnicov 2018 (one-sided, "LP"): E[max(0, ||grad D(x_hat)||_2 - 1)^2] at the
    interpolates: only gradients steeper than 1 are penalized."""
    return (F.relu(_norms(input_gradient(D, interpolates(real, fake, eps))) - 1.0) ** 2).mean()


def r1_penalty(D, real: Tensor) -> Tensor:
    """Mescheder, Geiger & Nowozin 2018, R1 without its gamma / 2 (zero-centred, on real data):
    E[||grad D(x)||_2^2]."""
    return input_gradient(D, real.detach()).flatten(1).pow(2).sum(1).mean()
