"""The metric registry, the context a metric reads, and what each of its keys means.

A metric declares every key it writes (`Key`): a label, which way is better, what kind of number it
is, and what the metric needs to be computed. Runs record these declarations in run.json
(`metric_keys`), and `bench report` reads them from there: a metric's meaning travels with the numbers
it made, and a new metric or a new variant's loss part is never mistaken for a quality measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from torch import Tensor

from bench.data.base import Dataset
from bench.registry import Registry

# What a key is:
#   quality      a measure of sample quality, comparable across variants (W1, FID, modes, ...)
#   estimate     the training critic's own estimate (critic_gap): the number whose tracking is studied
#   diagnostic   describes training, not samples: loss parts, the training-batch gap, step, seconds
#   count        how a number was computed (sample counts, training steps of a helper)
#   uncertainty  the spread of another key (is_std next to is_mean)
#   info         text: the space, the extractor, a note
KINDS = ("quality", "estimate", "diagnostic", "count", "uncertainty", "info")
DIRECTIONS = ("lower", "higher", None)  # which way is better (None: neither, or unknown)
# What computing a metric needs beyond G's samples and the held-out real set:
#   samples     G of the fixed latent bank (every metric)
#   critic      the training critic (not kept per step: `bench eval` cannot recompute it)
#   classifier  the data set's feature classifier (or Inception)
#   generator   G itself, for more samples than the bank holds (EvalContext.sample)
NEEDS = ("samples", "critic", "classifier", "generator")


@dataclass(frozen=True)
class Key:
    name: str
    label: str
    direction: str | None = None
    kind: str = "quality"
    scale: float = 1.0  # display only (hq_frac is shown in %)

    def problems(self) -> list[str]:
        out = []
        if self.kind not in KINDS:
            out.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.direction not in DIRECTIONS:
            out.append(f"direction {self.direction!r} is not lower, higher or None")
        return out

    def declaration(self, metric: str, needs: tuple[str, ...]) -> dict:
        """The key as run.json records it (bench.report.measures reads it back)."""
        out = {"label": self.label, "direction": self.direction, "kind": self.kind, "metric": metric,
               "needs": list(needs)}
        if self.scale != 1.0:
            out["scale"] = self.scale
        return out


def diagnostic(name: str, label: str | None = None) -> Key:
    """A key that describes training (a loss part, a time), never a quality measure."""
    return Key(name, label or name, None, "diagnostic")


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
    needs: tuple[str, ...] = ("samples",)
    declared: tuple[Key, ...] = ()  # what each key means, in the order of `keys`

    def applies_to(self, family: str) -> bool:
        return self.families is None or family in self.families

    def declarations(self) -> dict[str, dict]:
        return {k.name: k.declaration(self.name, self.needs) for k in self.declared}


METRICS: Registry[Metric] = Registry("metric")


def register(name: str, keys: tuple[Key, ...], protocol: str, about: str, families: tuple[str, ...] | None = None,
             needs: tuple[str, ...] = ("samples",)):
    """Register a metric; each of its keys must be declared (a Key) with a known kind and direction."""
    problems = [f"{k!r} is not a bench.metrics.registry.Key" for k in keys if not isinstance(k, Key)]
    problems += [f"key {k.name!r}: {p}" for k in keys if isinstance(k, Key) for p in k.problems()]
    problems += [f"needs {n!r} is not one of {', '.join(NEEDS)}" for n in needs if n not in NEEDS]
    if problems:
        raise ValueError(f"metric {name!r}: " + "; ".join(problems))

    def wrap(fn):
        METRICS.add(name, Metric(name, tuple(k.name for k in keys), protocol, fn, families, tuple(needs), tuple(keys)),
                    about)
        return fn

    return wrap


def declarations(family: str) -> dict[str, dict]:
    """Every key the metrics that apply to a data family write, with its declaration (run.json)."""
    out: dict[str, dict] = {}
    for name in METRICS.names():
        metric = METRICS.get(name)
        if metric.applies_to(family):
            for key, decl in metric.declarations().items():
                out.setdefault(key, decl)
    return out
