"""The metric registry and the context a metric reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from torch import Tensor

from bench.data.base import Dataset
from bench.registry import Registry


@dataclass
class EvalContext:
    fake: Tensor  # G(z_bank): [n_eval, *shape], on the training device
    real: Tensor  # the held-out real set: [n_eval, *shape], on the training device
    dataset: Dataset
    score: Callable[[Tensor], Tensor]  # the critic's per-sample realness, batched, no grad
    step: int
    # Which feature extractor the image metrics use ("classifier" or "inception") and the Inception
    # weights file; `bench eval` sets them, a training run uses the offline default.
    extractor: str = "classifier"
    inception_weights: "str | None" = None
    # The sample-count knobs of bench.eval_options (`bench run` / `bench eval` set them from the preset
    # or the flags), and G on a second fixed latent bank for metrics that need more samples than n_eval:
    # sample(n) yields G(z) for n latents from a fixed seed, in chunks (the stacked-image mode count).
    w_indep_steps: int = 0
    n_modes: int = 26_000
    sample: "Callable[[int], Iterator[Tensor]] | None" = None


@dataclass(frozen=True)
class Missing:
    reason: str


@dataclass(frozen=True)
class Metric:
    name: str
    keys: tuple[str, ...]  # the row keys it writes
    protocol: str  # how it is computed, recorded in run.json
    compute: Callable[[EvalContext], "dict[str, float] | Missing"]
    families: "tuple[str, ...] | None" = None  # data families it applies to (None: all); others skip it

    def applies_to(self, family: str) -> bool:
        return self.families is None or family in self.families


METRICS: Registry[Metric] = Registry("metric")


def register(name: str, keys: tuple[str, ...], protocol: str, about: str, families: tuple[str, ...] | None = None):
    def wrap(fn):
        METRICS.add(name, Metric(name, keys, protocol, fn, families), about)
        return fn

    return wrap
