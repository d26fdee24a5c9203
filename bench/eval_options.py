"""How a run is measured, as opposed to what it trains: the image metrics' feature extractor
(`--extractor`, `--inception-weights`), the independent critic's training steps (`--w-indep-steps`,
0 = off), the sample count of the stacked-image mode count (`--n-modes`), and at which evaluation
steps a run draws its sample picture (`--pictures`, `bench run` and sweep files only).

Like bench.speed's options they do not change the networks a run trains, so they are not part of
its identity (config, run id): run.json records them under "evaluation", each row carries the
protocol keys of what it computed (extractor:hash, w_indep_steps, modes_n), and `bench eval`
recomputes rows of finished runs with other choices. `bench run`, `bench sweep` (flags and file keys)
and `bench eval` share these options, declared once on EvalOptions' fields (bench.options), and their checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.options import option

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


def parse_pictures(text: str) -> int | str:
    """`--pictures` from the command line: "all" or a count."""
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise BenchError(f"--pictures {text!r}: give a number of evaluation steps (e.g. 3) or all") from None


EVERYWHERE = ("run", "sweep", "eval")  # `bench eval` recomputes rows with these


@dataclass(frozen=True)
class EvalOptions:
    """How a run is measured. As options, w_indep_steps and n_modes are None unless given: `resolve`
    fills them from the schedule preset."""

    extractor: str = field(default="classifier", metadata=option(
        "Feature extractor of the image metrics: classifier (the data set's own CNN, the offline default) or "
        "inception (torch-fidelity's InceptionV3; without weights it falls back to the classifier and the row "
        "says why).", choices=EXTRACTORS, commands=EVERYWHERE))
    inception_weights: str | None = field(default=None, metadata=option(  # absolute path once resolved
        "torch-fidelity's InceptionV3 weights file (weights-inception-2015-12-05-*.pth); never downloaded.",
        metavar="PATH", path=True, commands=EVERYWHERE))
    w_indep_steps: int | None = field(default=None, metadata=option(  # bench.metrics.independent
        "Training steps of the independent critic behind w_indep; 0 turns it off.", metavar="N",
        preset=f"{PRESETS['quick']['w_indep_steps']} in quick, {W_INDEP_STEPS} in standard", commands=EVERYWHERE))
    n_modes: int | None = field(default=None, metadata=option(
        "Generated samples for the stacked-image mode count.", metavar="N",
        preset=f"{PRESETS['quick']['n_modes']} in quick, {PRESETS['standard']['n_modes']} in standard",
        commands=EVERYWHERE))
    pictures: int | str = field(default=PICTURES, metadata=option(
        "Draw the sample picture (samples/step_*.png; toy data: samples over the critic's contours) at N "
        "evaluation steps spread evenly, the first and last included, or at all of them; 0: none. Toy runs "
        "write the picture's data (samples/step_*.npz) at every evaluation anyway.", metavar="N|all",
        parse=parse_pictures))

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


def resolve(preset: str, requested: EvalOptions = EvalOptions()) -> EvalOptions:
    """Check the options (one BenchError naming the fix) and fill unset knobs from the preset."""
    r = requested
    inception_weights = check(r.extractor, r.inception_weights, r.w_indep_steps, r.n_modes, r.pictures)
    defaults = PRESETS[preset]  # make_schedule has checked the preset name
    steps = defaults["w_indep_steps"] if r.w_indep_steps is None else r.w_indep_steps
    n = defaults["n_modes"] if r.n_modes is None else r.n_modes
    return EvalOptions(r.extractor, inception_weights, steps, n, PICTURES if r.pictures is None else r.pictures)


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
