"""What each column of metrics.jsonl means: its label, which way is better, and what kind of number it
is, as the runs themselves declare it (run.json `metric_keys`, written from bench.metrics.registry).

Only keys declared as quality measures are tabulated, ranked and correlated with the critic's
estimate; loss parts and other diagnostics, counts and uncertainties never are, whatever their name.
Runs written before declarations existed are read with the table they were always read with
(bench.report.legacy). A key no run declares and no old run has is not a quality measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from bench.report import legacy

ESTIMATE = "critic_gap"  # the critic's held-out estimate E[D(x)] - E[D(G(z))]

# The measure drawn against the estimate in the training-curve figure, first one present wins:
# FID on images (the WGAN paper's Figures 3-4), exact W1 on toy data.
CURVE_PREFERENCE = ("fid", "w1_exact", "w1_exact_feat", "kid_mean", "w_indep", "w1_sliced")


@dataclass(frozen=True)
class Measure:
    key: str  # the metrics.jsonl key
    label: str  # for tables and figures
    direction: str | None  # "lower" | "higher" is better; None when unknown
    scale: float = 1.0  # display only (hq_frac is shown in %); CSV files keep raw values
    kind: str = "quality"  # bench.metrics.registry.KINDS

    @property
    def arrow(self) -> str:
        return {"lower": " ↓", "higher": " ↑"}.get(self.direction, "")

    @property
    def tracks_sign(self) -> str:
        """The sign of corr(critic_gap, measure) when a larger estimate means worse samples."""
        return {"lower": "+", "higher": "-"}.get(self.direction, "?")


class Measures:
    """The meaning of the metric keys of a set of runs."""

    def __init__(self, declared: dict[str, dict], legacy_runs: bool):
        self.declared = declared  # key -> declaration, in the order the runs declare them
        self.legacy_runs = legacy_runs  # some run has no declarations: read its keys with bench.report.legacy

    @classmethod
    def of_records(cls, records: Iterable[dict]) -> "Measures":
        declared: dict[str, dict] = {}
        old = False
        for record in records:
            keys = record.get("metric_keys")
            if keys is None:
                old = True
                continue
            for key, decl in keys.items():
                declared.setdefault(key, decl)
        return cls(declared, old)

    @classmethod
    def legacy(cls) -> "Measures":
        """As runs without declarations are read (bench.report.legacy)."""
        return cls({}, True)

    def _declaration(self, key: str, keys: set[str]) -> dict | None:
        if key in self.declared:
            return self.declared[key]
        return legacy.declaration(key, keys) if self.legacy_runs else None

    def get(self, key: str, keys: Iterable[str] = ()) -> Measure:
        d = self._declaration(key, set(keys) | {key})
        if d is None:
            return Measure(key, key, None, kind="undeclared")
        return Measure(key, d.get("label") or key, d.get("direction"), d.get("scale", 1.0), d.get("kind", "quality"))

    def quality_keys(self, keys) -> list[str]:
        """The quality measures among metric keys, in the order the runs declare them (for old runs:
        the legacy table's known measures in its order, then unknown ones sorted)."""
        keys = set(keys)
        quality = {k for k in keys if (self._declaration(k, keys) or {}).get("kind") == "quality"}
        order = [k for k in self.declared if k in quality]
        if self.legacy_runs:
            order += [k for k in legacy.KNOWN if k in quality and k not in order]
        return order + sorted(quality - set(order))

    @staticmethod
    def curve_key(keys) -> str | None:
        keys = set(keys)
        return next((k for k in CURVE_PREFERENCE if k in keys), None)
