"""The training critic's own estimate, on held-out data."""

from __future__ import annotations

from bench.metrics.registry import EvalContext, Key, register


@register(
    "critic_gap",
    (Key("critic_gap", "critic gap", None, "estimate"),),
    "E[D(x)] - E[D(G(z))] over the held-out real set and G of the fixed latent bank; raw critic "
    "outputs (EBGAN: negative energies), no penalty term; networks as in a training step (batch norm "
    "with the statistics of each 1000-sample chunk of real or of generated samples, running statistics "
    "unused and untouched)",
    "The training critic's estimate E[D(x)] - E[D(G(z))] on held-out data (raw, no penalty)",
    needs=("samples", "critic"),
)
def critic_gap(ctx: EvalContext):
    return {"critic_gap": float(ctx.score(ctx.real).mean() - ctx.score(ctx.fake).mean())}
