"""The first Python line of every sweep job: catch the stop signals before anything else runs.

submitit starts a job with `python -m submitit.core._submit FOLDER`, which imports the pickled job
(torch, the metrics: seconds) and only then installs its signal handlers. A USR2 (the time-limit or
preemption warning) or a SIGTERM (scancel, `scontrol requeue`, preemption) arriving meanwhile met the
default action and killed the job without a requeue (`srun: error: task 0: User defined signal 2`).
bench.sweep.executors starts jobs with `python SNAPSHOT/bench/sweep/jobstart.py FOLDER` instead: it notes those
signals before importing anything heavy, then hands over to submitit; bench.sweep.jobs.StopRequest reads
the notes (`early()`) when the run starts and acts on them as on a signal during training.
"""

from __future__ import annotations

import os
import signal

# The signals received before bench.sweep.jobs.StopRequest took over (signals are per process, so this is
# per process too; only `note` writes it).
_EARLY: list[int] = []


def stop_signals() -> list[int]:
    """SIGTERM and the signal submitit asked SLURM to send before a time limit (USR2 by default)."""
    name = "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")
    return [signal.SIGTERM] + ([getattr(signal, name)] if hasattr(signal, name) else [])


def note(signum, frame) -> None:
    _EARLY.append(signum)


def early() -> list[int]:
    """The stop signals this process got before the run's own handler was in place."""
    return list(_EARLY)


def main() -> None:
    for sig in stop_signals():
        signal.signal(sig, note)
    from submitit.core._submit import submitit_main  # the heavy imports start here

    submitit_main()


if __name__ == "__main__":
    import sys

    # Run as a script: sys.path[0] is this file's folder (bench/sweep/ itself), which must not shadow
    # top-level packages; bench comes from PYTHONPATH (the snapshot). Run through the importable
    # module, so that bench.sweep.jobs finds the notes under bench.sweep.jobstart.
    del sys.path[0]
    from bench.sweep.jobstart import main as _main

    _main()
