"""Detecting divergence between evaluation steps, without slowing the training loop.

The engine sums every loss part on the device and reads nothing back per step (bench.train.capture
relies on that). A NaN or inf in any step's loss makes its running sum NaN or inf until the next
evaluation resets it, so the sums say whether anything went wrong since the last evaluation. The
loop already reads the running critic gap once per 1 % of the steps (for the progress bar); `poll`
reads all the sums in that same single host transfer, so divergence is caught within 1 % of the
run, in a window of steps it can name, at no extra synchronization. (A generator whose output is
NaN or inf makes the critic's and its own losses NaN, so it is caught the same way; the evaluator
also checks the generated samples at every evaluation.)

A diverged run stops, keeps its last good checkpoint and its finite metrics rows, and records
`diverged` with the step, the window and the last finite row. Divergence is a result in a GAN
benchmark: the sweep goes on, and `bench report` counts diverged runs per variant x arch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Poll:
    """The loss sums since the last evaluation, on the host. For packed runs each value is per member."""

    sums: dict[str, torch.Tensor]  # key -> [K], one value per member (K = 1 for a run alone)
    n_d: int

    def running_gap(self) -> float | None:
        """The critic's mean gap on training batches since the last evaluation (mean over members)."""
        if not self.n_d or "gap" not in self.sums:
            return None
        return float((self.sums["gap"] / self.n_d).mean())

    def nonfinite(self, member: int | None = None) -> list[str]:
        """The loss parts whose sum is NaN or inf (of one pack member when `member` is given)."""
        return [k for k, v in self.sums.items() if not bool(torch.isfinite(v if member is None else v[member]).all())]


def poll(acc_d: dict[str, torch.Tensor], acc_g: dict[str, torch.Tensor], n_d: int) -> Poll:
    """Read every loss sum back to the host in one transfer (one synchronization)."""
    keys = [*(f"d:{k}" for k in acc_d), *(f"g:{k}" for k in acc_g)]
    if not keys:
        return Poll({}, n_d)
    # one run's sums are 0-d, a pack's [K]: read both as [K] (K = 1 for a run alone)
    host = torch.stack([v.reshape(-1) for v in [*acc_d.values(), *acc_g.values()]]).cpu()
    sums = {}
    for key, value in zip(keys, host):
        side, name = key.split(":", 1)
        # the critic's and the generator's sums may share a name (e.g. "penalty"): keep both apart
        sums[name if name not in sums else key] = value
    return Poll(sums, n_d)


def record(step: int, since: int, where: str, keys: list[str], last_finite: dict | None) -> dict:
    """run.json's `divergence` field: when and where it happened, and the last finite metrics row.

    `since`: the last step known to be finite (the previous check), so the first non-finite value
    came at a step in [since + 1, step].
    """
    what = ", ".join(keys) if keys else "generated samples or metrics"
    return {
        "step": step,
        "window": [since + 1, step],
        "where": where,
        "nonfinite": keys,
        "reason": f"non-finite {what} ({where}) between steps {since + 1} and {step}",
        "last_finite_step": last_finite.get("step") if last_finite else None,
        "last_finite": last_finite,
    }


def nonfinite_row_keys(row: dict) -> list[str]:
    """The keys of an evaluation row that are NaN or inf (or '*' when the samples themselves were)."""
    import math

    keys = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if (row.get("missing") or {}).get("*"):
        keys.append("generated samples")
    return keys
