"""The unit of work a sweep submits: one run (or several, one after another), as a submitit job that
survives preemption, time limits and cancellation.

Two signals stop a job, and the run is checkpointed at a step boundary for either:

    USR2     the scheduler's warning before a time limit or a preemption (submitit asks for it with
             `--signal=USR2@<delay>`): after the checkpoint the job requeues itself (submitit's
             handler), and the requeued job resumes from that checkpoint.
    SIGTERM  `scancel`, `scontrol requeue`, a preemption with PreemptMode=REQUEUE/CANCEL and GraceTime,
             or `kill PID` under the local executor: after the checkpoint the run records
             "interrupted" and the job ends; it does not requeue itself (a cancel must stay a cancel;
             `scontrol requeue` and a requeueing preemption put the job back in the queue themselves).

submitit's own USR2 handler would exit the process in the middle of whatever step was running, and
its SIGTERM handler ignores the signal (the run kept training until SLURM's KillWait ran out and then
lost everything since its last checkpoint). Instead our handler only notes the signal; the runner
sees it at the next step boundary, saves a checkpoint there and returns "interrupted", and only then,
for USR2, do we hand the signal to submitit, which requeues the job. A signal that arrives while the
job is still starting up was noted by bench.sweep.jobstart, the job's first line, and is acted on as soon
as the run would start.

If the step boundary does not come within `GRACE_S` of a USR2 (a very long evaluation), submitit's
handler runs anyway, mid-step: the run then resumes from its last evaluation's checkpoint, which is
still exact, only later.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import submitit

from bench.sweep import jobstart
from bench.config import RunConfig
from bench.train.loop import run
from bench.store.rundir import RunDir

# Seconds between the signal and the forced requeue; well inside submitit's default 90 s warning.
GRACE_S = 45.0
SIGNAL_WORDS = {"SIGTERM": "SIGTERM (scancel, scontrol requeue, preemption or kill)",
                "SIGUSR2": "USR2 (the scheduler's warning of a time limit or preemption)"}


class StopRequest:
    """Turns the stop signals (the scheduler's USR2, and SIGTERM) into a flag the runner polls between
    steps. A context manager around the run (in the main thread, where Python runs signal handlers);
    restores the previous handlers on exit."""

    def __init__(self, grace_s: float = GRACE_S):
        # The signal submitit arranged for this job (USR2 unless SUBMITIT_PREEMPT_SIGNAL says otherwise).
        self.signum = submitit.JobEnvironment._usr_sig()
        self.grace_s = grace_s
        self.received: list[int] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        for sig, handler in ((self.signum, self._on_signal), (signal.SIGTERM, self._on_signal),
                             (signal.SIGALRM, self._forward)):
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)
        for sig in jobstart.early():  # came while the job was starting up (bench.sweep.jobstart)
            self._on_signal(sig, None)
        return self

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def __call__(self) -> bool:
        return bool(self.received)

    @property
    def requested(self) -> bool:
        return bool(self.received)

    @property
    def requeue(self) -> bool:
        """Whether the job should requeue itself after the checkpoint (the scheduler's USR2 came)."""
        return self.signum in self.received

    @property
    def why(self) -> str | None:
        """What stopped the run, for run.json's interrupted_by."""
        if not self.received:
            return None
        sig = self.signum if self.requeue else self.received[0]
        name = signal.Signals(sig).name
        return SIGNAL_WORDS.get(name, name)

    def _on_signal(self, signum, frame) -> None:
        # No printing here: the handler may interrupt a write to the same stream.
        if signum not in self.received:
            self.received.append(signum)
            if signum == self.signum:
                signal.setitimer(signal.ITIMER_REAL, self.grace_s)  # SIGALRM -> _forward, mid-step if need be

    def _forward(self, signum=None, frame=None) -> None:
        """Hand the requeue signal to the handler that was there before us: submitit's checkpoint() ->
        requeue -> exit; outside submitit, the signal's default action."""
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
    """`TrainJob()(cfg, root, name)` trains one run (resuming or skipping it as the run store says).
    `cfg` may also be a list of configs that differ only in seed, trained as one pack (bench.train.loop),
    or a list of such packs (lists), trained one after another in this one job (a profile's
    runs_per_task)."""

    def __call__(self, cfg: RunConfig | list, root: str | Path, name: str) -> dict | list[dict]:
        _threads_from_slurm()
        packs = units(cfg)
        restart = os.environ.get("SLURM_RESTART_COUNT")
        ids = ", ".join(c.run_id for p in packs for c in p)
        print(f"bench: run {ids}" + (f" (requeued {restart}x)" if restart and restart != "0" else ""), flush=True)
        results = []
        with StopRequest() as stop:
            for pack in packs:
                if stop.requested:
                    break  # the rest resume (or start) when the job runs again
                results += run(pack, Path(root), name, progress=False, stop=stop)  # one config: a pack of 1
            for c, result in results:
                step = (RunDir(result.path).read() or {}).get("step")
                print(f"bench: run {c.run_id}: {result.status} at step {step} ({result.action})"
                      + (f" on {stop.why}" if stop.requested and result.status == "interrupted" else ""),
                      flush=True)
            unfinished = any(r.status == "interrupted" for _, r in results) or \
                len(results) < sum(len(p) for p in packs)
            if stop.requested and not stop.requeue:
                print(f"bench: stopped by {stop.why}; the job does not requeue itself (scontrol requeue and "
                      f"requeueing preemptions put it back in the queue; after scancel, submit the sweep again)",
                      flush=True)
            elif unfinished and stop.requeue:
                stop.forward()  # requeues and exits the process (submitit's handler)
        out = [{"run_id": r.run_id, "status": r.status, "path": str(r.path)} for _, r in results]
        return out[0] if isinstance(cfg, RunConfig) and out else out

    def checkpoint(self, cfg: RunConfig | list, root: str | Path, name: str) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on the stop signal: requeue a fresh job with the same arguments; the
        runner has already saved its checkpoint, which the new job resumes from."""
        return submitit.helpers.DelayedSubmission(TrainJob(), cfg, root, name)


def units(cfg: RunConfig | list) -> list[list[RunConfig]]:
    """A job's argument as packs run one after another: a config, a pack (list of configs), or a
    list of packs."""
    if isinstance(cfg, RunConfig):
        return [[cfg]]
    if cfg and all(isinstance(c, RunConfig) for c in cfg):
        return [list(cfg)]
    return [list(p) if isinstance(p, list) else [p] for p in cfg]


def _threads_from_slurm() -> None:
    """Use the CPUs SLURM gave the task, not every core of a shared node (unless the user chose)."""
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and "OMP_NUM_THREADS" not in os.environ:
        import torch

        torch.set_num_threads(int(cpus))
