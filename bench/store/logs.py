"""A job's log: where submitit wrote it, its last lines, and the exception its process died of."""

from __future__ import annotations

import os
import re
from pathlib import Path

def log_path(job: dict) -> Path:
    from submitit.core.utils import JobPaths

    return JobPaths(job["folder"], job_id=job["job_id"], task_id=0).stderr


def exception_line(log: Path | None) -> str | None:
    """The last 'SomeError: message' line of a log (the exception a job died of), if any."""
    for line in reversed(tail(log, 200)):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line
    return None


def tail(path: Path | None, n: int = 5) -> list[str]:
    """The last n non-empty lines of a log (a traceback ends with the exception)."""
    if path is None or not path.exists():
        return []
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 64_000))
        lines = [ln.rstrip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    return lines[-n:]
