"""w_indep: a Wasserstein estimate from an independent critic, comparable across variants.

The training critic's gap is a different function for every variant (clipped, penalized, spectrally
normalized, an energy...), so its values cannot be compared between variants. Here a fresh critic of
one fixed architecture per data family is trained at every evaluation, the same way for every run,
to separate held-out real from generated samples — a "neural network divergence" (Gulrajani,
Raffel & Metz 2019, "Towards GAN benchmarks which require generalization"):

- the critic: the WGAN-GP objective (Gulrajani et al. 2017, Alg. 1: gradient penalty lambda = 10,
  Adam betas (0.5, 0.9)) with lr 5e-4, 5 x the paper's, because it must converge within a small fixed
  number of steps at every evaluation (two 2-D Gaussians a shift of 2 apart, 200 steps: the gap
  reaches 0.52 at lr 1e-4, 2.10 at 5e-4), batch 64, for `w_indep_steps` steps, from a fixed seed;
  toy data: the mlp arch's critic (3 hidden layers of 256 ReLU units); images: the dcgan arch's
  critic at width 32 without normalization (the penalty is per sample, which batch norm breaks);
- the data: the first half of the held-out real set and of G's latent-bank samples to train on,
  the second half of each to score: w_indep = E[D(x)] - E[D(G(z))] on the second halves, so the
  critic is judged on samples it has not seen (an overfit critic does not inflate it).

This is a Wasserstein *estimate*, not a lower bound: an optimal, exactly 1-Lipschitz critic would
give one, but the penalty only pulls the gradient norm towards 1 where it is sampled (so the critic
can overshoot) and the fixed budget of steps stops short of the supremum (so it undershoots).
Measured against exact W1 on the toy mixtures at 500 steps (README, *Sample-quality metrics*;
benchmarks/w_indep_bias.py): about half of W1 for generators within W1 < 0.5 of the data, 5-13 %
above it for W1 > 1; Spearman 0.93-0.97 with W1 over the whole range. It costs `w_indep_steps` critic steps per evaluation (off in the quick schedule; see
bench.eval_options) and leaves the global random state untouched (torch.random.fork_rng).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bench.arch.dcgan import ConvCritic
from bench.arch.mlp import VectorCritic
from bench.metrics.registry import EvalContext, Key, register
from variants.losses import gradient_penalty, wasserstein_critic

SEED = 0
BATCH = 64
LR, BETAS, GP_WEIGHT = 5e-4, (0.5, 0.9), 10.0
CRITICS = {  # one fixed architecture per data family
    "toy": lambda shape: VectorCritic(256, 3, shape),
    "image": lambda shape: ConvCritic(shape[0], 32, None),
}
SCORE_BATCH = 1000


def independent_gap(real: Tensor, fake: Tensor, family: str, steps: int, seed: int = SEED) -> float:
    """Train a fresh critic on the first halves of real and fake ([N, *shape] each), return its gap
    E[D(real)] - E[D(fake)] on the second halves."""
    n = min(len(real), len(fake)) // 2
    real_fit, real_score, fake_fit, fake_score = real[:n], real[n:2 * n], fake[:n], fake[n:2 * n]
    device = real.device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.enable_grad():
        torch.manual_seed(seed)  # the critic's initialization
        critic = CRITICS[family](tuple(real.shape[1:])).to(device)
        opt = torch.optim.Adam(critic.parameters(), lr=LR, betas=BETAS)
        rng = torch.Generator(device=device).manual_seed(seed)  # batches and the penalty's eps
        batch = min(BATCH, n)
        for _ in range(steps):
            r = real_fit[torch.randint(n, (batch,), device=device, generator=rng)]
            f = fake_fit[torch.randint(n, (batch,), device=device, generator=rng)]
            eps = torch.rand(batch, device=device, generator=rng)
            penalty = gradient_penalty(critic, r, f, eps)  # (closed-form input gradient where the critic has one)
            loss = wasserstein_critic(critic(r), critic(f)) + GP_WEIGHT * penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return _mean_score(critic, real_score) - _mean_score(critic, fake_score)


@torch.no_grad()
def _mean_score(critic: nn.Module, x: Tensor) -> float:
    return float(torch.cat([critic(x[i:i + SCORE_BATCH]) for i in range(0, len(x), SCORE_BATCH)]).double().mean())


@register(
    "w_indep",
    (Key("w_indep", "independent W", "lower"), Key("w_indep_steps", "w_indep steps", None, "count"),
     Key("w_indep_n", "w_indep samples", None, "count")),
    f"independent critic, trained afresh at each evaluation for w_indep_steps steps (0 = off, the quick "
    f"default; standard: bench.eval_options) with seed {SEED}: WGAN-GP objective (lambda {GP_WEIGHT:g}, Adam "
    f"lr {LR:g}, betas {BETAS}, batch {BATCH}); toy: mlp critic 3 x 256, images: dcgan critic width 32, no "
    "normalization; trained on the first half of the held-out real set and of G's latent-bank samples, "
    "w_indep = E[D(x)] - E[D(G(z))] on the second halves (w_indep_n samples each)",
    "Independent critic's W1 estimate: a fresh WGAN-GP critic of one fixed architecture, comparable across variants",
    needs=("samples",),
)
def w_indep_metric(ctx: EvalContext):
    if ctx.w_indep_steps <= 0:
        return {}  # off: the row has no w_indep keys (run.json's "evaluation" says w_indep_steps = 0)
    gap = independent_gap(ctx.real, ctx.fake, ctx.dataset.family, ctx.w_indep_steps)
    return {"w_indep": gap, "w_indep_steps": ctx.w_indep_steps, "w_indep_n": min(len(ctx.real), len(ctx.fake)) // 2}
