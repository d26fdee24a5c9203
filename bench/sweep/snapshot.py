"""The code a sweep's jobs run: a copy of the package taken at submission, and what that code is.

A job array may wait in the queue for days, and each requeue starts Python afresh. If jobs imported
the submitting checkout, editing or pulling it meanwhile would silently change what later tasks (and
the resumed halves of runs) compute. So `bench sweep` copies the packages (bench/, variants/) into
the sweep folder, under `.code/<hash of the files>/`, and every job and requeue imports that copy
(bench.sweep.submit puts it first on PYTHONPATH). The same code submitted again reuses the same copy.

Each copy holds `code.json`: the git commit it was taken from, whether the checkout had uncommitted
changes to the packages (dirty) and a SHA-256 of those changes, so that run.json can say exactly what
code computed a number (bench.train.record.environment reads it through bench.store.code.identity).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from bench.store.code import CODE_JSON, PACKAGES, identity, package_root

SNAPSHOTS = ".code"


def _files(root: Path) -> list[Path]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                out.append(path)
    return out


def take(sweep_folder: Path, source: Path | None = None) -> Path:
    """Copy the packages into sweep_folder/.code/<hash>/ (once per distinct code); returns that folder."""
    source = source or package_root()
    files = _files(source)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    dest = sweep_folder / SNAPSHOTS / digest.hexdigest()[:16]
    if (dest / CODE_JSON).exists():
        return dest
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for path in files:
        target = tmp / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    code = {**identity(source), "code_snapshot": None, "taken_from": str(source), "sha256": digest.hexdigest(),
            "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    code.pop("code_snapshot")
    (tmp / CODE_JSON).write_text(json.dumps(code, indent=2) + "\n")
    try:
        os.replace(tmp, dest)
    except OSError:  # another submission made the same copy meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        if not (dest / CODE_JSON).exists():
            raise
    return dest
