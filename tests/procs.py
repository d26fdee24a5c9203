"""`bench` commands in real OS processes, for the fault and concurrency tests, started cheaply.

Each new interpreter spends seconds of CPU importing torch and friends; sixteen at once would cost
a minute of CI on two cores. A multiprocessing forkserver imports bench once, then forks every child
from itself: each child is a separate process (its own pid, signals, file descriptors and lock
files) that runs bench.cli.main exactly as the `bench` command does, and exits with its exit code.
The server itself never runs a torch operation, so no thread pool is forked in use.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

_CONTEXT = None


def context():
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = mp.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["bench.cli", "bench.train.loop", "bench.cli.summary", "contourpy"])
    return _CONTEXT


def _main(args: list[str], log: str, barrier) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    import torch

    torch.set_num_threads(1)
    from bench.cli import main

    if barrier is not None:
        barrier.wait()  # every process starts its run at the same moment
    main(list(args))


def start(args: list[str], log: Path, barrier=None):
    """Start `bench ARGS` in a new process writing stdout and stderr to `log`; returns the Process."""
    p = context().Process(target=_main, args=(list(args), str(log), barrier), daemon=True)
    p.start()
    return p


def wait_for(condition, timeout: float = 120.0, what: str = "condition", proc=None) -> None:
    """Poll `condition()` every 5 ms; fail naming `what` (and the process's exit) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and not proc.is_alive():
            raise AssertionError(f"process exited ({proc.exitcode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def read_json_or_none(path: Path):
    """A JSON file another process may be replacing right now (atomically): None if absent."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
