"""Which columns of metrics.jsonl are quality measures, and which way is better for each.

The report treats metric keys generically, because metrics keep being added: every numeric key of a
metrics row is either a training diagnostic (the critic's estimate itself, losses, timings), the
uncertainty of another key (`<name>_std` next to `<name>_mean`), or a quality measure. Known
measures carry a label and a direction ("lower" or "higher" is better), which decides what "best"
means and which sign of the correlation says "the estimate tracks quality". A key the report does
not know is still tabulated and correlated, with direction unknown (no "best" value).
"""

from __future__ import annotations

from dataclasses import dataclass

ESTIMATE = "critic_gap"  # the critic's held-out estimate E[D(x)] - E[D(G(z))]

# Keys that describe training, not sample quality; never tabulated as quality.
DIAGNOSTICS = frozenset({"step", "wall_s", "critic_gap", "critic_gap_train", "d_loss", "g_loss", "penalty",
                         "pull_away"})

# Keys that record how a metric was computed (sample counts, training steps), not a quality.
PROTOCOL_COUNTS = frozenset({"n_fake", "n_real", "w1_feat_n", "w_indep_steps", "w_indep_n", "modes_n"})


@dataclass(frozen=True)
class Measure:
    key: str  # the metrics.jsonl key
    label: str  # for tables and figures
    direction: str | None  # "lower" | "higher" is better; None when unknown
    scale: float = 1.0  # display only (hq_frac is shown in %); CSV files keep raw values

    @property
    def arrow(self) -> str:
        return {"lower": " ↓", "higher": " ↑"}.get(self.direction, "")

    @property
    def tracks_sign(self) -> str:
        """The sign of corr(critic_gap, measure) when a larger estimate means worse samples."""
        return {"lower": "+", "higher": "-"}.get(self.direction, "?")


KNOWN: dict[str, Measure] = {
    m.key: m
    for m in [
        Measure("fid", "FID", "lower"),
        Measure("is_mean", "IS", "higher"),
        Measure("kid_mean", "KID", "lower"),
        Measure("precision", "precision", "higher"),
        Measure("recall", "recall", "higher"),
        Measure("w1_exact", "W1 exact", "lower"),
        Measure("w1_exact_feat", "W1 exact (features)", "lower"),
        Measure("w1_sliced", "sliced W1", "lower"),
        Measure("w_indep", "independent W", "lower"),
        Measure("modes", "modes", "higher"),
        Measure("modes_kl", "modes KL", "lower"),
        Measure("hq_frac", "HQ %", "higher", scale=100.0),
    ]
}

# The measure drawn against the estimate in the training-curve figure, first one present wins:
# FID on images (the WGAN paper's Figures 3-4), exact W1 on toy data.
CURVE_PREFERENCE = ("fid", "w1_exact", "w1_exact_feat", "kid_mean", "w_indep", "w1_sliced")


def measure(key: str) -> Measure:
    return KNOWN.get(key) or Measure(key, key, None)


def quality_keys(keys) -> list[str]:
    """The quality measures among metric keys: known ones in KNOWN's order, then unknown ones sorted."""
    keys = set(keys)
    uncertainties = {k for k in keys if k.endswith("_std") and k[: -len("_std")] + "_mean" in keys}
    rest = keys - DIAGNOSTICS - PROTOCOL_COUNTS - uncertainties
    return [k for k in KNOWN if k in rest] + sorted(rest - set(KNOWN))


def curve_key(keys) -> str | None:
    keys = set(keys)
    return next((k for k in CURVE_PREFERENCE if k in keys), None)
