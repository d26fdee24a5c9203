"""A results tree whose truth is known, written as real run folders, for the report's verdicts.

One variant per case (8gaussians, mlp, STEPS evaluations, n_eval N_EVAL):

  wgan     (a) gap = 2 W1 + noise                         -> tracks
  sngan    (b) gap independent of W1                      -> no evidence; seed 5 collapses (0 modes)
  wgan-gp  (c) gap = -W1 + noise (a W1 estimate < 0)      -> opposite, every run flagged negative
  lsgan    (d) gap and W1 both decay with step, residuals independent
                                                           -> level rho high, partial rho ~ 0, no evidence
  ebgan    (e) as (a) with 3 seeds                        -> verdict possible, across-runs analysis too few runs

W1 in (a)-(c) wanders (a random walk) rather than trending, so what is left after partialling out the
step is the tie between gap and W1 itself. The train gap (`critic_gap_train`) is the held-out gap plus
a little noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STEPS = list(range(10, 130, 10))  # 12 evaluations
N_EVAL = 200
SEEDS = {"wgan": 6, "sngan": 6, "wgan-gp": 6, "lsgan": 6, "ebgan": 3}
CASE = {"wgan": "tracks", "sngan": "independent", "wgan-gp": "opposite", "lsgan": "trend", "ebgan": "tracks"}
W_VARIANTS = {"wgan", "wgan-gp"}  # estimates_wasserstein in run.json
COLLAPSED = ("sngan", 5)


def series(variant: str, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1000 * list(SEEDS).index(variant) + seed)
    n = len(STEPS)
    step = np.array(STEPS, float)
    walk = np.cumsum(rng.normal(scale=0.4, size=n))
    w1 = 0.3 + 1.0 / (1 + np.exp(-walk))  # wanders within (0.3, 1.3): above the floor, below the data's scale
    case = CASE[variant]
    if case == "tracks":
        gap = 2 * w1 + rng.normal(scale=0.1, size=n)
    elif case == "independent":
        gap = np.abs(1 + np.cumsum(rng.normal(scale=0.3, size=n)))
    elif case == "opposite":
        gap = -w1 + rng.normal(scale=0.04, size=n)
    else:  # a shared trend: both decay with training, independent wiggles on top
        w1 = 0.3 + 1.5 * np.exp(-step / 40) + rng.normal(scale=0.04, size=n)
        gap = 0.1 + 3.0 * np.exp(-step / 40) + rng.normal(scale=0.08, size=n)
    modes = rng.integers(3, 9, n).astype(float)
    if (variant, seed) == COLLAPSED:
        modes[-1] = 0.0
    return {"critic_gap": gap, "critic_gap_train": gap + rng.normal(scale=0.05, size=n), "w1_exact": w1,
            "modes": modes, "d_loss": rng.normal(size=n)}


def run_id(variant: str, seed: int) -> str:
    return f"{variant}-mlp-8gaussians-s{seed}"


def write_verdict_tree(root: Path) -> Path:
    sweep = root / "truth"
    for variant, n_seeds in SEEDS.items():
        for seed in range(n_seeds):
            path = sweep / run_id(variant, seed)
            path.mkdir(parents=True)
            values = series(variant, seed)
            rows = [{"step": s, **{k: float(v[i]) for k, v in values.items()}} for i, s in enumerate(STEPS)]
            (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            record = {
                "run_id": run_id(variant, seed), "status": "done",
                "config": {"variant": variant, "arch": "mlp", "dataset": "8gaussians", "seed": seed, "device": "cpu",
                           "schedule": {"family": "toy", "preset": "quick", "steps": STEPS[-1], "batch_size": 64,
                                        "evals": len(STEPS), "n_eval": N_EVAL, "eval_steps": STEPS},
                           "hyper": {}, "arch_params": {"width": 8}, "sets": {}},
                "variant": {"critic_kind": "scalar", "estimates_wasserstein": variant in W_VARIANTS,
                            "gap_meaning": "test"},
                "data": {"name": "8gaussians", "family": "toy"},
                "device": "cpu (test)", "timings": {"steps_per_s": 10.0},
            }
            (path / "run.json").write_text(json.dumps(record, indent=1))
    return sweep
