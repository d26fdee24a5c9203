"""The faults of a shared machine, turned into clean outcomes: a termination signal becomes an
interruption (the run resumes), a full or read-only disk becomes one line naming the fix.

SIGTERM (`kill PID`, a container stop, a cluster manager without SLURM's warning signal) by default
kills Python without running any `finally` or `except`, leaving run.json at "running" and the lock
file behind. While a run trains, `sigterm_interrupts` makes SIGTERM raise `Terminated` instead,
which the runner treats as it treats Ctrl-C: status "interrupted", lock released, and the same
command resumes it from its newest checkpoint. It installs itself only where nobody else owns the
signal: in a sweep's job (bench.sweep.jobs), SIGTERM already has bench.sweep.jobs.StopRequest's handler, which
checkpoints at the next step boundary instead (scancel, scontrol requeue, preemption).
"""

from __future__ import annotations

import errno
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# errno -> what it means and what to do about it, for errors writing results
STORAGE = {
    errno.ENOSPC: ("no space left on device", "free space there or pass --results DIR on another disk"),
    errno.EDQUOT: ("disk quota exceeded", "free space in your quota or pass --results DIR elsewhere"),
    errno.EROFS: ("read-only file system", "pass --results DIR on a writable file system"),
    errno.EACCES: ("permission denied", "pass --results DIR with a directory you can write"),
    errno.EPERM: ("operation not permitted", "pass --results DIR with a directory you can write"),
}


class Terminated(SystemExit):
    """Raised by the SIGTERM handler: a SystemExit (the exit code is 128 + 15, as if killed by the
    signal), so the runner records an interruption, not a failure."""

    def __init__(self):
        super().__init__(128 + signal.SIGTERM)

    def __str__(self) -> str:
        return "SIGTERM"


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM raises Terminated (once; later ones are ignored until the
    interruption has been recorded). A no-op outside the main thread or when SIGTERM already has a
    handler other than the default (submitit's)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    raised = []

    def handler(signum, frame):
        if not raised:
            raised.append(signum)
            raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def storage_problem(exc: BaseException) -> str | None:
    """One line for an OSError writing results (disk full, read-only, no permission), or None."""
    if not isinstance(exc, OSError) or exc.errno not in STORAGE:
        return None
    what, fix = STORAGE[exc.errno]
    where = f" writing {exc.filename}" if exc.filename else ""
    return (f"{what}{where}; {fix}, then run the same command again (finished runs are kept, "
            f"interrupted ones resume from their last checkpoint)")
