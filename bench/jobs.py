"""The unit of work a sweep submits: one run, as a submitit job that survives preemption and time limits.

Before a time limit (or on preemption) SLURM sends the job USR2 (submitit asks for it with
`--signal=USR2@<delay>`). submitit's own handler calls our `checkpoint`, requeues the job and exits
the process right away, in the middle of whatever step was running. Instead we let the runner finish
the step it is in: our handler only raises a flag, the runner sees it at the next step boundary,
saves a checkpoint there and returns "interrupted", and only then do we hand the signal to submitit,
which requeues the job. The requeued job calls `__call__` again and the runner resumes from that
checkpoint, so an interrupted run ends with the same metrics as an uninterrupted one.

If the step boundary does not come within `GRACE_S` (a very long evaluation), submitit's handler runs
anyway, mid-step: the run then resumes from its last evaluation's checkpoint, which is still exact,
only later.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import submitit

from bench.config import RunConfig
from bench.packed import run_pack
from bench.store import RunDir

# Seconds between the signal and the forced requeue; well inside submitit's default 90 s warning.
GRACE_S = 45.0


class StopRequest:
    """Turns the scheduler's stop signal into a flag the runner polls between steps.

    A context manager around the run (in the main thread, where Python runs signal handlers);
    restores the previous handlers on exit.
    """

    def __init__(self, grace_s: float = GRACE_S):
        # The signal submitit arranged for this job (USR2 unless SUBMITIT_PREEMPT_SIGNAL says otherwise).
        self.signum = submitit.JobEnvironment._usr_sig()
        self.grace_s = grace_s
        self.requested = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        for sig, handler in ((self.signum, self._on_signal), (signal.SIGALRM, self._forward)):
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)
        return self

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def __call__(self) -> bool:
        return self.requested

    def _on_signal(self, signum, frame) -> None:
        # No printing here: the handler may interrupt a write to the same stream.
        if not self.requested:
            self.requested = True
            signal.setitimer(signal.ITIMER_REAL, self.grace_s)  # SIGALRM -> _forward, mid-step if need be

    def _forward(self, signum=None, frame=None) -> None:
        """Hand the stop to the handler that was there before us: submitit's checkpoint() -> requeue ->
        exit; outside submitit, the signal's default action."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        previous = self._previous.get(self.signum)
        if callable(previous):
            previous(self.signum, frame)
        else:
            signal.signal(self.signum, signal.SIG_DFL if previous is None else previous)
            os.kill(os.getpid(), self.signum)

    def forward(self) -> None:
        """The runner stopped at a step boundary and saved its checkpoint: requeue now."""
        self._forward()


class TrainJob(submitit.helpers.Checkpointable):
    """`TrainJob()(cfg, root, name)` trains one run (resuming or skipping it as the run store says);
    given a list of configs that differ only in seed, it trains them as one pack (bench.packed)."""

    def __call__(self, cfg: RunConfig | list[RunConfig], root: str | Path, name: str) -> dict | list[dict]:
        _threads_from_slurm()
        cfgs = cfg if isinstance(cfg, list) else [cfg]
        restart = os.environ.get("SLURM_RESTART_COUNT")
        ids = ", ".join(c.run_id for c in cfgs)
        print(f"bench: run {ids}" + (f" (requeued {restart}x)" if restart else ""), flush=True)
        with StopRequest() as stop:
            results = run_pack(cfgs, Path(root), name, progress=False, stop=stop)  # one config: run_one
            for c, result in results:
                step = (RunDir(result.path).read() or {}).get("step")
                print(f"bench: run {c.run_id}: {result.status} at step {step} ({result.action})"
                      + (" on the scheduler's stop signal" if stop.requested else ""), flush=True)
            if any(r.status == "interrupted" for _, r in results) or len(results) < len(cfgs):
                stop.forward()  # requeues and exits the process (submitit's handler)
        out = [{"run_id": r.run_id, "status": r.status, "path": str(r.path)} for _, r in results]
        return out if isinstance(cfg, list) else out[0]

    def checkpoint(self, cfg: RunConfig | list[RunConfig], root: str | Path,
                   name: str) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on the stop signal: requeue a fresh job with the same arguments; the
        runner has already saved its checkpoint, which the new job resumes from."""
        return submitit.helpers.DelayedSubmission(TrainJob(), cfg, root, name)


def _threads_from_slurm() -> None:
    """Use the CPUs SLURM gave the task, not every core of a shared node (unless the user chose)."""
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and "OMP_NUM_THREADS" not in os.environ:
        import torch

        torch.set_num_threads(int(cpus))
