"""A small results tree with known values, written the way `bench run` writes one.

Values come from `series(...)`, a seeded function of (dataset, variant, seed); the tests compute
what the report should say from these arrays with numpy and scipy directly.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STEPS = [10, 20, 30, 40, 50]
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"  # must come out escaped in the HTML

# (dataset, variant, arch, seed, status)
RUNS = [
    *[("8gaussians", "wgan", "mlp", s, "done") for s in (0, 1, 2)],
    *[("8gaussians", "gan", "mlp", s, "done") for s in (0, 1)],
    ("8gaussians", "gan", "mlp", 2, "diverged"),
    ("8gaussians", "gan", "mlp", 3, "failed"),
    ("8gaussians", "gan", "mlp", 4, "running"),
    ("8gaussians", "gan", "mlp", 5, "interrupted"),
    *[("cifar10", "wgan-gp", "dcgan", s, "done") for s in (0, 1, 2, 3)],
]
TOY_KEYS = ("w1_exact", "modes", "hq_frac", "my_score")  # my_score: a metric the report does not know
IMAGE_KEYS = ("fid", "is_mean", "kid_mean")


def run_id(dataset, variant, arch, seed) -> str:
    return f"{variant}-{arch}-{dataset}-s{seed}"


def series(dataset: str, variant: str, seed: int) -> dict[str, np.ndarray]:
    """Every metric of one run over STEPS: the estimate, and quality measures loosely tied to it."""
    rng = np.random.default_rng(zlib.crc32(f"{dataset}/{variant}".encode()) % 1000 * 100 + seed)
    gap = np.cumsum(rng.normal(size=len(STEPS))) + 2.0
    out = {"critic_gap": gap, "d_loss": rng.normal(size=len(STEPS)), "g_loss": rng.normal(size=len(STEPS))}
    if dataset == "cifar10":
        out["fid"] = 50 + 10 * gap + rng.normal(scale=8, size=len(STEPS))
        out["is_mean"] = 3 - 0.2 * gap + rng.normal(scale=0.3, size=len(STEPS))
        out["is_std"] = rng.uniform(0.01, 0.1, len(STEPS))
        out["kid_mean"] = 0.05 + 0.01 * gap + rng.normal(scale=0.01, size=len(STEPS))
        out["kid_std"] = rng.uniform(0.001, 0.01, len(STEPS))
    else:
        out["w1_exact"] = 1 + 0.3 * gap + rng.normal(scale=0.4, size=len(STEPS))
        out["modes"] = rng.integers(0, 9, len(STEPS)).astype(float)
        out["hq_frac"] = rng.uniform(0, 1, len(STEPS))
        out["my_score"] = rng.normal(size=len(STEPS))
    return out


def n_rows(status: str) -> int:
    return {"failed": 2, "running": 3, "interrupted": 3}.get(status, len(STEPS))


def write_tree(root: Path) -> Path:
    """root/sweep/<run-id>/{run.json, metrics.jsonl, samples/}; returns root/sweep."""
    sweep = root / "sweep"
    for dataset, variant, arch, seed, status in RUNS:
        path = sweep / run_id(dataset, variant, arch, seed)
        (path / "samples").mkdir(parents=True)
        values = series(dataset, variant, seed)
        rows = []
        for i, step in enumerate(STEPS[: n_rows(status)]):
            row = {"step": step, "wall_s": 0.1 * step, **{k: float(v[i]) for k, v in values.items()}}
            if status == "diverged" and i == len(STEPS) - 1:
                row["critic_gap"] = float("nan")
                row["w1_exact"] = float("inf")
            if dataset == "cifar10":
                row["precision"] = None
                row["missing"] = {"precision": "no feature extractor weights for precision/recall"}
            rows.append(row)
            _samples(path / "samples" / f"step_{step:07d}", dataset, seed, i)
        (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        record = {
            "run_id": run_id(dataset, variant, arch, seed),
            "status": "running" if status == "interrupted" else status,
            "config": {"variant": variant, "arch": arch, "dataset": dataset, "seed": seed, "device": "cpu",
                       "schedule": {"preset": "quick", "steps": STEPS[-1], "batch_size": 64, "evals": len(STEPS),
                                    "n_eval": 100, "eval_steps": STEPS},
                       "hyper": {"lr_g": 1e-4}, "arch_params": {"width": 8},
                       "sets": {"note": HOSTILE} if variant == "gan" else {}},
            "variant": {"critic_kind": "scalar", "estimates_wasserstein": variant.startswith("wgan"),
                        "gap_meaning": f"gap of {variant} {HOSTILE}", "critic_norm_rule": {}},
            "protocol": {"critic_gap": "E[D(x)] - E[D(G(z))] on held-out data",
                         "w1_exact": "exact W1 (POT emd2)", "modes": "modes within 3 std"},
            "device": "cpu (test)", "versions": {"bench": "test"}, "git_commit": None, "host": "test",
            "timings": {"train_s": 1.0, "eval_s": 1.0, "steps_per_s": 10.0 + seed},
        }
        if status == "failed":
            record["error"] = f"RuntimeError: boom {HOSTILE}"
        if status == "diverged":
            record["diverged_at_step"] = STEPS[-1]
        if status == "running":
            (path / ".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
        (path / "run.json").write_text(json.dumps(record, indent=1))
    # A run moved aside by --force: the report must leave it out.
    old = sweep / f"{run_id('8gaussians', 'wgan', 'mlp', 0)}.replaced-20240101-000000"
    old.mkdir()
    (old / "run.json").write_text((sweep / run_id("8gaussians", "wgan", "mlp", 0) / "run.json").read_text())
    return sweep


def _samples(stem: Path, dataset: str, seed: int, i: int) -> None:
    rng = np.random.default_rng(seed * 10 + i)
    plt.imsave(stem.with_suffix(".png"), rng.uniform(size=(16, 16, 3)))
    if dataset == "8gaussians":
        g = np.linspace(-2, 2, 8)
        np.savez_compressed(stem.with_suffix(".npz"), critic=np.add.outer(g, g), extent=np.array([-2.0, 2, -2, 2]),
                            real=rng.normal(size=(50, 2)), fake=rng.normal(size=(50, 2)))
