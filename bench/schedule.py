"""The common schedule: every variant in a sweep gets the same generator steps, batch size,
evaluation steps, evaluation sample counts and evaluation sets.

Critic steps per generator step come from the variant; everything else comes from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bench.errors import BenchError
from bench.options import option

# Presets per data family.
#   quick:    seconds to a minute per run on a 2-core CPU (the README demo and the tests).
#   standard: the published protocol: Gulrajani et al.'s gan_toy.py trains 100,000 generator steps at
#             batch 256; we train 20,000, by when every variant that converges on these mixtures
#             has (see the README), and evaluate 20 times.
PRESETS: dict[str, dict[str, dict[str, int]]] = {
    "toy": {
        # batch 64: on 2 CPU cores a critic step of the 3 x 512 MLP costs ~12 ms at 64 and ~23 ms at 256,
        # and WGAN's 2,500 warm-up critic steps dominate a short run.
        "quick": {"steps": 300, "batch_size": 64, "evals": 3, "n_eval": 2000},
        "standard": {"steps": 20000, "batch_size": 256, "evals": 20, "n_eval": 2000},
    },
    "image": {
        # quick: `bench run --variants wgan-gp,gan --arch dcgan --dataset fashion-mnist` in a few
        # minutes on 2 CPU cores (docs/images.md has the timing): on a CPU a DCGAN critic step at
        # batch 32 costs ~0.1-0.25 s (x3 with the gradient penalty), so 60 steps, 2 evaluations of
        # 1,000 samples. A smoke test and a demo of the outputs, not a measure of quality.
        "quick": {"steps": 60, "batch_size": 32, "evals": 2, "n_eval": 1000},
        # standard: Gulrajani et al.'s CIFAR-10 protocol (gan_cifar_resnet.py: ITERS = 100000
        # generator steps, BATCH_SIZE = 64, 5 critic steps each for WGAN-GP), evaluated every 5,000
        # steps on the whole 10,000-image test split (w1_exact uses 2,000 of them).
        "standard": {"steps": 100000, "batch_size": 64, "evals": 20, "n_eval": 10000},
    },
}

# The held-out real set and the latent bank are drawn from this seed, the same for every run, so that
# evaluations of different runs compare the same samples and latents.
EVAL_SEED = 20170126  # arXiv date of the WGAN paper


@dataclass(frozen=True)
class Schedule:
    family: str  # the data family whose presets this came from
    preset: str
    steps: int  # generator updates
    batch_size: int
    evals: int  # evaluation points, evenly spaced, the last at `steps`
    n_eval: int  # held-out real samples = latent-bank size, for critic_gap, w1_exact and modes
    eval_seed: int = EVAL_SEED

    def eval_steps(self) -> list[int]:
        """Generator steps after which the evaluator runs; identical for runs with the same schedule."""
        return sorted({max(1, round(k * self.steps / self.evals)) for k in range(1, self.evals + 1)})

    def problems(self) -> list[str]:
        out = []
        for name, floor in (("steps", 1), ("evals", 1), ("n_eval", 2)):
            if getattr(self, name) < floor:
                out.append(f"--{name.replace('_', '-')} {getattr(self, name)}: must be >= {floor}")
        if self.batch_size < 2:
            out.append(f"--batch-size {self.batch_size}: must be >= 2 (the critic losses average over a batch)")
        return out

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "eval_steps": self.eval_steps()}


def _preset_words(key: str) -> str:
    return ", ".join(f"{PRESETS[fam][p][key]} {fam} {p}" for fam in PRESETS for p in PRESETS[fam])


@dataclass(frozen=True)
class Overrides:
    """The schedule's knobs a user may set: None keeps the preset's value (the options of every command)."""

    steps: int | None = field(default=None, metadata=option(
        "Generator steps (overrides the schedule).", metavar="N", preset=_preset_words("steps")))
    batch_size: int | None = field(default=None, metadata=option(
        "Batch size for G and D (overrides the schedule).", metavar="N", preset=_preset_words("batch_size")))
    evals: int | None = field(default=None, metadata=option(
        "Number of evaluation points, evenly spaced, the last at the final step (overrides the schedule); "
        "at most --steps.",
        metavar="N", preset=_preset_words("evals")))
    n_eval: int | None = field(default=None, metadata=option(
        "Held-out real samples = latent-bank size used at each evaluation (overrides the schedule).",
        metavar="N", preset=_preset_words("n_eval")))


def make_schedule(family: str, preset: str, **overrides: int | None) -> Schedule:
    """The preset for a data family, with the user's overrides (None = keep the preset's value)."""
    if family not in PRESETS or preset not in PRESETS[family]:
        choices = ", ".join(PRESETS.get(family, {})) or "none"
        raise BenchError(f"unknown schedule {preset!r} for {family} data; choose one of: {choices}")
    values = dict(PRESETS[family][preset])
    values.update({k: v for k, v in overrides.items() if v is not None})
    schedule = Schedule(family=family, preset=preset, **values)
    problems = schedule.problems()
    if problems:
        raise BenchError(f"invalid schedule: {'; '.join(problems)}")
    if schedule.evals > schedule.steps:  # it would evaluate (and checkpoint) at every step, fewer times than asked
        if overrides.get("evals") is not None:
            raise BenchError(f"--evals {schedule.evals} exceeds --steps {schedule.steps}: a run evaluates at most once "
                             f"per generator step; pass --evals {schedule.steps} or fewer, or more --steps")
        raise BenchError(f"--steps {schedule.steps} is fewer than the {preset} schedule's {schedule.evals} "
                         f"evaluations: a run evaluates at most once per generator step; pass --evals {schedule.steps} or fewer, "
                         f"or more --steps")
    return schedule
