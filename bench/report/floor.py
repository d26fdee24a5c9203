"""Reference values of exact W1 for one data set and evaluation size: its noise floor and its scale.

  floor  W1 between two independent samples of the real data, each of the size a run's `w1_exact`
         uses. A perfect generator scores like this, so a run whose W1 is within the range these
         pairs give cannot be told apart from a perfect one, nor ranked against another such run.
         Measured over PAIRS pairs drawn with fixed seeds: mean, sd, and the 95th percentile (the
         `at floor` threshold).
  scale  W1 between the real sample and a point mass at its mean (the mean distance to the mean):
         what a generator that outputs the data's mean every time scores. A run above it is worse
         than that constant generator: the report flags it as collapsed.

Runs written so far do not record these (run.json has no floor field), so the report computes them
itself from the data set's own sampler (`Dataset.heldout(2n, seed)`, split in halves: independent
draws for toy data, disjoint test images for image data) and caches them as JSON under
$BENCH_CACHE/floors/ (default ~/.cache/gan-bench). Data sets whose files are not at hand get a
missing reference with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

PAIRS = 10
FLOOR_SEED = 7_000_000  # pair r uses heldout(2n, FLOOR_SEED + r); far from the runs' eval seed
VERSION = 1  # bump when the computation changes, so cached values are not reused


@dataclass
class Reference:
    dataset: str
    n: int  # points per side, as the runs' w1_exact uses
    floor_mean: float | None = None
    floor_sd: float | None = None
    floor_q95: float | None = None  # runs at or below this are "at the noise floor"
    scale: float | None = None  # W1 of the constant generator (a point mass at the data's mean)
    pairs: int = PAIRS
    how: str = ""
    reason: str = ""  # why the values are missing

    @property
    def ok(self) -> bool:
        return self.floor_q95 is not None


def w1_points(family: str | None, n_eval: int) -> int:
    """How many points per side the run's w1_exact used (bench.metrics.toy.w1_metric)."""
    from bench.metrics.toy import W1_IMAGE_POINTS

    return n_eval if family == "toy" else min(n_eval, W1_IMAGE_POINTS)


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "gan-bench") / "floors"


def _cache_file(dataset: str, n: int) -> Path:
    key = hashlib.sha1(json.dumps([dataset, n, PAIRS, FLOOR_SEED, VERSION]).encode()).hexdigest()[:10]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset.split(":")[0])
    return cache_dir() / f"{safe}-n{n}-{key}.json"


def how_text(n: int) -> str:
    return (f"computed by bench report: exact W1 (POT ot.emd2, Euclidean cost) between the two halves of "
            f"heldout({2 * n}, seed) of the data set, for {PAIRS} seeds {FLOOR_SEED}..{FLOOR_SEED + PAIRS - 1} "
            f"({n} points per side, as the runs' w1_exact); scale = mean distance of those samples to their mean")


def compute(dataset: str, n: int, data_root: str | None = None) -> Reference:
    """Draw the pairs and measure them (seconds for toy data at n = 2,000)."""
    import torch

    from bench.data.registry import build_dataset
    from bench.errors import BenchError
    from bench.metrics.toy import w1_exact

    try:
        data = build_dataset(dataset, data_root=data_root)
        if data.max_heldout is not None and 2 * n > data.max_heldout:
            return Reference(dataset, n, reason=f"needs 2 x {n} held-out samples, {dataset} has {data.max_heldout}")
        floors, scales = [], []
        with torch.random.fork_rng(devices=[]):
            for r in range(PAIRS):
                x = data.heldout(2 * n, FLOOR_SEED + r).flatten(1).double().numpy()
                a, b = x[:n], x[n:]
                floors.append(w1_exact(a, b))
                scales.append(float(np.linalg.norm(a - a.mean(0), axis=1).mean()))
    except (BenchError, OSError, ValueError, RuntimeError) as e:
        return Reference(dataset, n, reason=f"{dataset} could not be sampled here ({type(e).__name__}: {e})")
    f = np.array(floors)
    return Reference(dataset, n, float(f.mean()), float(f.std(ddof=1)), float(np.percentile(f, 95)),
                     float(np.mean(scales)), PAIRS, how_text(n))


def reference(dataset: str, n: int, data_root: str | None = None) -> Reference:
    """The cached reference, or compute and cache it. A missing one (no data) is not cached."""
    path = _cache_file(dataset, n)
    try:
        cached = json.loads(path.read_text())
        return Reference(**cached)
    except (OSError, ValueError, TypeError):
        pass
    ref = compute(dataset, n, data_root)
    if ref.ok:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(asdict(ref), indent=1))
            os.replace(tmp, path)
        except OSError:
            pass  # an unwritable cache only costs the recomputation next time
    return ref


def references(records: dict[str, dict]) -> dict[str, Reference]:
    """run -> the reference for its data set and W1 sample size (computed once per pair)."""
    done: dict[tuple[str, int], Reference] = {}
    out = {}
    for run, rec in records.items():
        cfg = rec["config"]
        family = (rec.get("data") or {}).get("family") or (cfg.get("schedule") or {}).get("family")
        n_eval = (cfg.get("schedule") or {}).get("n_eval")
        if not n_eval:
            out[run] = Reference(cfg["dataset"], 0, reason="run.json has no schedule.n_eval")
            continue
        key = (cfg["dataset"], w1_points(family, int(n_eval)))
        if key not in done:
            done[key] = reference(*key, data_root=(rec.get("data") or {}).get("root"))
        out[run] = done[key]
    return out
