"""The variant interface: a variant states its hyperparameters, its losses and its constraints; the
training engine (bench.train) owns the loop, the optimizers and every speed trick.

A variant never calls backward() or step(). Per generator step the engine asks it, in order:
    critic_steps(gen_step)             how many critic updates before this generator update
    critic_noise(real)                 random numbers the critic loss needs (e.g. GP's eps), or None
    critic_loss(D, real, fake, noise)  -> LossOut, backpropagated into D
    after_critic_step(D)               after each critic update (e.g. weight clipping)
    generator_loss(D, fake)            -> LossOut, backpropagated into G; with `generator_needs_real`,
                                          generator_loss(D, fake, real) gets a real batch too
and, once before training, `prepare_critic(D)` (e.g. spectral normalization). `score(D, x)` gives
the critic's "realness" per sample (higher = more real); the engine records E[score(real)] -
E[score(fake)] on held-out data for every variant as `critic_gap`.

The default critic_loss is `critic_loss_from_scores(score(D, real), score(D, fake))` plus
`penalty(D, real, fake, noise)`; a variant overrides critic_loss only when its loss is not a
function of the two batches' scores (EBGAN's energies).

The rules (tests/unit/test_variant_contract.py checks each for every registered variant, entry-point
plugins included):
  1. D is only called: D(x). The engine may pass the critic module, or a function that evaluates one
     member of a packed run; the only other thing a loss asks of D goes through
     variants.losses.input_gradient(D, x), which finds a closed form where the critic has one.
  2. Randomness only in critic_noise, drawn from `self.rng` (the run's own seeded stream), never
     inside a loss: then K packed runs each draw theirs exactly as they would alone, and a resumed
     run draws what the uninterrupted one did. A real batch for the generator loss is drawn by the
     engine, from a stream of its own, only for a variant that sets `generator_needs_real`.
  3. No host reads in a loss or hook (.item(), float(t), bool(t), .cpu(), .tolist()): a step runs
     without synchronizing with the device, and may be captured as a CUDA graph.
  4. after_critic_step changes D's parameters in place (p.clamp_(...), p.copy_(...)), never by
     rebinding them (p.data = ...); under packing it runs once per member, on that member's slices.
  5. Losses are finite on ordinary inputs, and a packed run of K members equals the K runs alone.
How fast a step runs (joint scoring of real and fake, packing, CUDA graphs, fused optimizers) is the
engine's business: nothing here depends on it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn


class LossOut(NamedTuple):
    """A loss to backpropagate and its named parts (detached scalars, logged for every variant as
    diagnostics: bench report never treats them as quality measures)."""

    total: Tensor
    parts: dict[str, Tensor]


@dataclass(frozen=True)
class Hyper:
    """Hyperparameters common to every variant; subclasses add their knobs and paper defaults.

    Every field can be overridden from the command line with `--set name=value`.
    """

    optimizer: str = "adam"  # adam | rmsprop
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # Adam only
    beta2: float = 0.999  # Adam only
    n_critic: int = 1  # critic updates per generator update

    def problems(self) -> list[str]:
        """What is wrong with these values, as '<name>=<value>: <why>' strings (empty when valid)."""
        out = []
        if self.optimizer not in ("adam", "rmsprop"):
            out.append(f"optimizer={self.optimizer}: must be adam or rmsprop")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                out.append(f"{name}={getattr(self, name)}: must be > 0")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"{name}={getattr(self, name)}: must be in [0, 1)")
        if self.n_critic < 1:
            out.append(f"n_critic={self.n_critic}: must be >= 1")
        return out


class Variant:
    """Base class. Subclasses set the class attributes and implement `critic_loss_from_scores`
    and `generator_loss_from_scores` (or override `critic_loss` / `generator_loss`)."""

    name: ClassVar[str]
    Hyper: ClassVar[type[Hyper]] = Hyper
    critic_kind: ClassVar[str] = "scalar"  # "scalar" (D: x -> [N]) or "autoencoder" (D: x -> (recon, code))
    # True where E[D(x)] - E[D(G(z))] is, by the variant's theory, a (scaled) Wasserstein-1 estimate.
    estimates_wasserstein: ClassVar[bool] = False
    gap_meaning: ClassVar[str] = ""  # what the critic gap is for this variant, written into run.json
    # Normalization the critic may not use, and what replaces it (recorded in run.json).
    critic_norm_rule: ClassVar[dict[str, str]] = {}
    # True for a variant whose generator loss compares fake with real samples (relativistic GANs): the
    # engine then calls generator_loss(D, fake, real) with a batch from the run's own "real_g" stream.
    generator_needs_real: ClassVar[bool] = False
    # False for a variant whose losses cannot run once per member under torch.func.vmap; `--pack`
    # refuses it (every built-in variant packs).
    packable: ClassVar[bool] = True

    def __init__(self, hp: Hyper, rng: torch.Generator | None = None):
        self.hp = hp
        self.rng = rng  # the run's seeded stream: critic_noise draws from it, nothing else does

    # -- schedule ------------------------------------------------------------------------------
    def critic_steps(self, gen_step: int) -> int:
        """Critic updates to run before generator update number `gen_step` (0-based)."""
        return self.hp.n_critic

    # -- constraints ---------------------------------------------------------------------------
    def prepare_critic(self, D: nn.Module) -> nn.Module:
        return D

    @torch.no_grad()
    def after_critic_step(self, D: nn.Module) -> None:
        pass

    # -- losses --------------------------------------------------------------------------------
    def score(self, D, x: Tensor) -> Tensor:
        """Per-sample realness, shape [N]."""
        return D(x).view(-1)

    def critic_noise(self, real: Tensor) -> Tensor | None:
        """Random numbers critic_loss needs for this batch, drawn from self.rng (None: it needs none)."""
        return None

    def critic_loss(self, D, real: Tensor, fake: Tensor, noise: Tensor | None = None) -> LossOut:
        return self.critic_loss_given_scores(D, real, fake, noise, self.score(D, real), self.score(D, fake))

    def critic_loss_given_scores(self, D, real: Tensor, fake: Tensor, noise: Tensor | None,
                                 s_real: Tensor, s_fake: Tensor) -> LossOut:
        """The default critic loss once both batches are scored (the engine may score them in one
        call where that computes the same numbers)."""
        loss = self.critic_loss_from_scores(s_real, s_fake)
        parts = {"d_loss": loss.detach(), "gap": (s_real.mean() - s_fake.mean()).detach()}
        penalty = self.penalty(D, real, fake, noise)
        if penalty is not None:
            parts["penalty"] = penalty.detach()
            loss = loss + penalty
        return LossOut(loss, parts)

    def generator_loss(self, D, fake: Tensor, real: Tensor | None = None) -> LossOut:
        """`real` is given only to a variant with generator_needs_real."""
        loss = self.generator_loss_from_scores(self.score(D, fake))
        return LossOut(loss, {"g_loss": loss.detach()})

    def penalty(self, D, real: Tensor, fake: Tensor, noise: Tensor | None = None) -> Tensor | None:
        """An extra critic term, already weighted (e.g. the gradient penalty); None for no term.
        `noise` is critic_noise(real) (drawn here when the caller passes None)."""
        return None

    def critic_loss_from_scores(self, s_real: Tensor, s_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss_from_scores(self, s_fake: Tensor) -> Tensor:
        raise NotImplementedError

    @classmethod
    def scores_both_batches(cls) -> bool:
        """Whether the critic loss is the default one, a function of score(D, real) and score(D, fake)."""
        return cls.critic_loss is Variant.critic_loss

    @classmethod
    def describe(cls) -> dict:
        """What run.json records about the variant beyond its hyperparameters."""
        return {
            "critic_kind": cls.critic_kind,
            "estimates_wasserstein": cls.estimates_wasserstein,
            "gap_meaning": cls.gap_meaning,
            "critic_norm_rule": dict(cls.critic_norm_rule),
        }


def hyper_fields(cls: type[Hyper]) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}
