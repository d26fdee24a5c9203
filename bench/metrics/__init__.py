"""Metrics computed at the schedule's evaluation steps, one registry entry each.

A metric reads an EvalContext (the generator's samples from the fixed latent bank, the held-out real
set, the data set, the critic) and returns a dict of values. When it cannot be computed for a run it
returns `Missing(reason)`; the row then holds null for each of its keys and the reason under
"missing" — never a made-up number. Each metric states its protocol, which run.json records.
"""

from bench.metrics.registry import METRICS, EvalContext, Metric, Missing
from bench.metrics import critic, toy, quality, stacked_modes, independent  # noqa: F401  (registration)

__all__ = ["METRICS", "EvalContext", "Metric", "Missing"]
