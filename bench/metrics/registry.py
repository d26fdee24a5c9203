"""The metric registry and the context a metric reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class Missing:
    reason: str


@dataclass(frozen=True)
class Metric:
    name: str
    keys: tuple[str, ...]  # the row keys it writes
    protocol: str  # how it is computed, recorded in run.json
    compute: Callable[[EvalContext], "dict[str, float] | Missing"]


METRICS: Registry[Metric] = Registry("metric")


def register(name: str, keys: tuple[str, ...], protocol: str, about: str):
    def wrap(fn):
        METRICS.add(name, Metric(name, keys, protocol, fn), about)
        return fn

    return wrap
