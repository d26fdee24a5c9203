"""The meaning of metrics keys for runs written before runs declared it (run.json without
`metric_keys`): the built-in table those runs were reported with, unchanged, so that they read as they
always did. Newer runs carry their keys' declarations (bench.metrics.registry.Key) and never use it.

Every numeric key of an old row is a training diagnostic (the critic's estimate itself, losses,
timings), a protocol count, the uncertainty of another key (`<name>_std` next to `<name>_mean`), or a
quality measure. Known measures carry a label and a direction; a key this table does not know is a
quality measure with direction unknown (no "best" value).
"""

from __future__ import annotations

# Keys that describe training, not sample quality; never tabulated as quality.
DIAGNOSTICS = frozenset({"step", "wall_s", "critic_gap", "critic_gap_train", "d_loss", "g_loss", "penalty",
                         "pull_away"})

# Keys that record how a metric was computed (sample counts, training steps), not a quality.
PROTOCOL_COUNTS = frozenset({"n_fake", "n_real", "w1_feat_n", "w_indep_steps", "w_indep_n", "modes_n"})

# key -> (label, direction, display scale), in the order tables list them
KNOWN: dict[str, tuple[str, str, float]] = {
    "fid": ("FID", "lower", 1.0),
    "is_mean": ("IS", "higher", 1.0),
    "kid_mean": ("KID", "lower", 1.0),
    "precision": ("precision", "higher", 1.0),
    "recall": ("recall", "higher", 1.0),
    "w1_exact": ("W1 exact", "lower", 1.0),
    "w1_exact_feat": ("W1 exact (features)", "lower", 1.0),
    "w1_sliced": ("sliced W1", "lower", 1.0),
    "w_indep": ("independent W", "lower", 1.0),
    "modes": ("modes", "higher", 1.0),
    "modes_kl": ("modes KL", "lower", 1.0),
    "hq_frac": ("HQ %", "higher", 100.0),
}


def kind(key: str, keys: set[str]) -> str:
    """What an old run's key is (bench.metrics.registry.KINDS), among the row keys `keys`."""
    if key == "critic_gap":
        return "estimate"
    if key in DIAGNOSTICS:
        return "diagnostic"
    if key in PROTOCOL_COUNTS:
        return "count"
    if key.endswith("_std") and key[: -len("_std")] + "_mean" in keys:
        return "uncertainty"
    return "quality"


def declaration(key: str, keys: set[str]) -> dict:
    label, direction, scale = KNOWN.get(key, (key, None, 1.0))
    return {"label": label, "direction": direction, "kind": kind(key, keys), "scale": scale}
