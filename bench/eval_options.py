"""How a run is measured, as opposed to what it trains: the image metrics' feature extractor
(`--extractor`, `--inception-weights`), the independent critic's training steps (`--w-indep-steps`,
0 = off), the sample count of the stacked-image mode count (`--n-modes`), and at which evaluation
steps a run draws its sample picture (`--pictures`, `bench run` and sweep files only).

Like bench.speed's options they do not change the networks a run trains, so they are not part of
its identity (config, run id): run.json records them under "evaluation", each row carries the
protocol keys of what it computed (extractor:hash, w_indep_steps, modes_n), and `bench eval`
recomputes rows of finished runs with other choices. `bench run`, `bench sweep` files (through
plan_runs's keywords) and `bench eval` share these options and their checks.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from bench.errors import BenchError

EXTRACTORS = ("classifier", "inception")
# Preset defaults of the sample-count knobs, per schedule preset:
#   w_indep_steps: 0 in quick (a smoke test has no time for a second critic), W_INDEP_STEPS in standard.
#   n_modes: 26,000 samples in standard, as VEEGAN and PacGAN count Stacked-MNIST modes
#   (fjxmlzn/PacGAN, VEEGAN_experiment/config.py: num_test_sample = 26000); a tenth in quick.
W_INDEP_STEPS = 500
# Sample pictures (samples/step_*.png): drawing the toy contour map costs ~0.25 s a step (matplotlib), as
# much as the rest of a cheap variant's evaluation; 3 = the first, middle and last evaluation. The
# arrays behind a toy picture (samples/step_*.npz) are written at every evaluation all the same.
PICTURES = 3
PRESETS = {
    "quick": {"w_indep_steps": 0, "n_modes": 2600},
    "standard": {"w_indep_steps": W_INDEP_STEPS, "n_modes": 26_000},
}


@dataclass(frozen=True)
class EvalOptions:
    extractor: str = "classifier"  # classifier | inception (falls back to classifier without weights)
    inception_weights: str | None = None  # torch-fidelity's InceptionV3 .pth (absolute path)
    w_indep_steps: int = 0  # training steps of the independent critic (bench.metrics.independent); 0 = off
    n_modes: int = PRESETS["standard"]["n_modes"]  # generated samples for the stacked-image mode count
    pictures: int | str = PICTURES  # sample pictures drawn: N evaluation steps spread evenly, or "all"

    def context(self) -> dict:
        """The EvalContext fields these options set (pictures are the runner's, not a metric's)."""
        out = asdict(self)
        del out["pictures"]
        return out

    def picture_steps(self, eval_steps: list[int]) -> set[int]:
        """The evaluation steps at which the sample picture is drawn: `pictures` of them spread evenly,
        the first and the last included (1: the last only), or all of them."""
        n = len(eval_steps) if self.pictures == "all" else min(int(self.pictures), len(eval_steps))
        if n <= 0:
            return set()
        if n == 1:
            return {eval_steps[-1]}
        return {eval_steps[round(i * (len(eval_steps) - 1) / (n - 1))] for i in range(n)}

    def to_record(self) -> dict:
        """run.json's "evaluation"."""
        out = asdict(self)
        if self.inception_weights:
            from bench.metrics.classifier import file_hash

            out["inception_weights_hash"] = file_hash(Path(self.inception_weights))
        return out


def resolve(preset: str, extractor: str = "classifier", inception_weights: str | Path | None = None,
            w_indep_steps: int | None = None, n_modes: int | None = None,
            pictures: int | str | None = None) -> EvalOptions:
    """Check the options (one BenchError naming the fix) and fill unset knobs from the preset."""
    inception_weights = check(extractor, inception_weights, w_indep_steps, n_modes, pictures)
    defaults = PRESETS[preset]  # make_schedule has checked the preset name
    steps = defaults["w_indep_steps"] if w_indep_steps is None else w_indep_steps
    n = defaults["n_modes"] if n_modes is None else n_modes
    return EvalOptions(extractor, inception_weights, steps, n, PICTURES if pictures is None else pictures)


def parse_pictures(text: str) -> int | str:
    """`--pictures` from the command line: "all" or a count."""
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise BenchError(f"--pictures {text!r}: give a number of evaluation steps (e.g. 3) or all") from None


def check(extractor: str = "classifier", inception_weights: str | Path | None = None,
          w_indep_steps: int | None = None, n_modes: int | None = None,
          pictures: int | str | None = None) -> str | None:
    """Raise one BenchError naming the fix for a bad option; return the Inception file as an absolute path."""
    from bench.metrics.extractors import inception_weights as find_inception

    if extractor not in EXTRACTORS:
        raise BenchError(f"--extractor {extractor!r}: choose one of: {', '.join(EXTRACTORS)}")
    if inception_weights is not None and extractor != "inception":
        raise BenchError(f"--inception-weights {inception_weights} is only read by the inception extractor; "
                         "add --extractor inception or drop --inception-weights")
    if extractor == "inception":
        # a given file must exist and hold InceptionV3's weights (checked weights-only), as must a file in
        # the hub cache; without either the evaluation falls back to the classifier and says so
        find_inception(Path(inception_weights) if inception_weights is not None else None)
        if inception_weights is not None:
            inception_weights = str(Path(inception_weights).expanduser().resolve())  # jobs may run elsewhere
    if w_indep_steps is not None and w_indep_steps < 0:
        raise BenchError(f"--w-indep-steps {w_indep_steps}: must be >= 0 (0 turns the independent critic off)")
    if n_modes is not None and n_modes < 1:
        raise BenchError(f"--n-modes {n_modes}: must be >= 1 (the standard protocol counts modes on 26000 samples)")
    if pictures is not None and pictures != "all" and (isinstance(pictures, bool) or not isinstance(pictures, int)
                                                       or pictures < 0):
        raise BenchError(f"--pictures {pictures!r}: give a number of evaluation steps >= 0 (0 = none) or all")
    return inception_weights


def click_options(fn):
    """`--extractor`, `--inception-weights`, `--w-indep-steps`, `--n-modes` for a click command; the command
    receives them as `evaluation`, a dict of bench.config.plan_runs's (and resolve's) keywords of the same
    names, holding only the options given (the others come from the schedule's preset)."""

    @click.option("--extractor", type=click.Choice(EXTRACTORS), default=None,
                  help="Feature extractor of the image metrics: classifier (the data set's own CNN, the offline "
                       "default) or inception (torch-fidelity's InceptionV3; without weights it falls back to the "
                       "classifier and the row says why).")
    @click.option("--inception-weights", type=click.Path(path_type=Path), metavar="PATH",
                  help="torch-fidelity's InceptionV3 weights file (weights-inception-2015-12-05-*.pth); "
                       "never downloaded.")
    @click.option("--w-indep-steps", type=int, metavar="N",
                  help=f"Training steps of the independent critic behind w_indep; 0 turns it off "
                       f"[default: {PRESETS['quick']['w_indep_steps']} in quick, {W_INDEP_STEPS} in standard].")
    @click.option("--n-modes", type=int, metavar="N",
                  help=f"Generated samples for the stacked-image mode count [default: {PRESETS['quick']['n_modes']} "
                       f"in quick, {PRESETS['standard']['n_modes']} in standard].")
    @functools.wraps(fn)
    def command(*args, extractor, inception_weights, w_indep_steps, n_modes, **kwargs):
        given = {"extractor": extractor, "inception_weights": inception_weights, "w_indep_steps": w_indep_steps,
                 "n_modes": n_modes}
        return fn(*args, evaluation={k: v for k, v in given.items() if v is not None}, **kwargs)

    return command


def pictures_option(fn):
    """`--pictures N|all` for `bench run`; the command receives it inside `evaluation` when given."""

    @click.option("--pictures", metavar="N|all",
                  help=f"Draw the sample picture (samples/step_*.png; toy data: samples over the critic's contours) "
                       f"at N evaluation steps spread evenly, the first and last included, or at all of them; 0: "
                       f"none. Toy runs write the picture's data (samples/step_*.npz) at every evaluation anyway "
                       f"[default: {PICTURES}].")
    @functools.wraps(fn)
    def command(*args, pictures, evaluation, **kwargs):
        if pictures is not None:
            evaluation = {**evaluation, "pictures": parse_pictures(pictures)}
        return fn(*args, evaluation=evaluation, **kwargs)

    return command
