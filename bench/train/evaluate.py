"""One metrics row for a member at an evaluation step: the loss sums since the last evaluation, then
every registered metric that applies to the data (bench.metrics), on G of the fixed latent bank and
the held-out real set; and the step's sample picture and data (samples/step_*.npz / .png)."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from bench.arch.norms import evaluation_mode
from bench.metrics import METRICS, EvalContext, Missing
from bench.train.plots import save_image_grid, save_toy_snapshot
from bench.train.member import EVAL_BATCH, Member


def batched(fn, x: torch.Tensor, size: int = EVAL_BATCH) -> torch.Tensor:
    return torch.cat([fn(x[i : i + size]) for i in range(0, len(x), size)])


class Clock:
    """Adds the seconds since the previous lap to totals[part] (Member.eval_split); on CUDA it waits
    for the device first, so that queued work is counted where it was queued."""

    def __init__(self, totals: dict[str, float], device: torch.device):
        self.totals, self.device, self.t = totals, device, time.perf_counter()

    def lap(self, part: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.totals[part] = self.totals.get(part, 0.0) + now - self.t
        self.t = now


def loss_means(m: Member) -> dict:
    """The loss parts' means since the last evaluation; the critic's mean training-batch gap as
    critic_gap_train."""
    losses = {k: float(v / m.n_d) for k, v in m.acc_d.items()}
    losses.update({k: float(v / m.n_g) for k, v in m.acc_g.items()})
    return {"critic_gap_train": losses.pop("gap", None), **losses}


@torch.no_grad()
def evaluate(m: Member, snapshot: Path | None) -> dict:
    """One metrics row for the member's current step; resets its loss sums."""
    # Networks are evaluated as the training step uses them: batch norm with batch statistics
    # (of each EVAL_BATCH chunk), running statistics left untouched (see evaluation_mode).
    clock = Clock(m.eval_split, m.device)
    with evaluation_mode(m.G, m.D):
        fake = batched(m.G, m.z_bank)
        clock.lap("samples")

        def score(x):
            return batched(lambda b: m.variant.score(m.D, b), x)

        ctx = EvalContext(fake=fake, real=m.eval_real, dataset=m.dataset, score=score, step=m.step,
                          sample=m.fixed_samples, **m.cfg.evaluation.context())  # (bench.eval_options)
        row: dict = {"step": m.step, **loss_means(m)}
        missing: dict[str, str] = {}
        if not torch.isfinite(fake).all():
            missing["*"] = "the generator's output is not finite"
        else:
            for name in METRICS.names():
                metric = METRICS.get(name)
                if not metric.applies_to(m.dataset.family):  # e.g. FID on toy data: no key, not null
                    continue
                result = metric.compute(ctx)
                clock.lap(name)
                if isinstance(result, Missing):
                    row.update({k: None for k in metric.keys})
                    missing.update({k: result.reason for k in metric.keys})
                else:
                    row.update(result)
            draw = m.step in m.picture_steps  # --pictures: drawn at a few steps (bench.eval_options)
            if snapshot is not None and m.dataset.family == "toy":
                title = f"{m.cfg.run_id}  step {m.step}"
                save_toy_snapshot(snapshot, score, m.eval_real, fake, title, draw=draw)  # .npz always
            elif snapshot is not None and m.dataset.family == "image" and draw:
                save_image_grid(snapshot, fake)  # the first 64 samples of the fixed latent bank
            clock.lap("pictures")
        if missing:
            row["missing"] = missing
        m.reset_sums()
        return row
