"""The code a sweep's jobs run: a copy of the package taken at submission, and what that code is.

A job array may wait in the queue for days, and each requeue starts Python afresh. If jobs imported
the submitting checkout, editing or pulling it meanwhile would silently change what later tasks (and
the resumed halves of runs) compute. So `bench sweep` copies the packages (bench/, variants/) into
the sweep folder, under `.code/<hash of the files>/`, and every job and requeue imports that copy
(bench.submit puts it first on PYTHONPATH). The same code submitted again reuses the same copy.

Each copy holds `code.json`: the git commit it was taken from, whether the checkout had uncommitted
changes to the packages (dirty) and a SHA-256 of those changes, so that run.json can say exactly what
code computed a number (bench.train.record.environment reads it through `identity`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

PACKAGES = ("bench", "variants")  # what a job imports from the checkout
CODE_JSON = "code.json"
SNAPSHOTS = ".code"


def package_root() -> Path:
    """The folder holding the bench package that is running (a checkout, or a snapshot)."""
    import bench

    return Path(bench.__file__).resolve().parents[1]


def _files(root: Path) -> list[Path]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                out.append(path)
    return out


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode(errors="replace") if out.returncode == 0 else None


def git_identity(root: Path) -> dict:
    """commit, dirty flag and SHA-256 of the uncommitted changes to the packages, from git."""
    commit = (_git(root, "rev-parse", "HEAD") or "").strip() or None
    if commit is None:
        return {"git_commit": None, "git_dirty": None, "git_diff_sha256": None}
    changes = _git(root, "status", "--porcelain", "--", *PACKAGES)
    if changes is None:
        return {"git_commit": commit, "git_dirty": None, "git_diff_sha256": None}
    if not changes.strip():
        return {"git_commit": commit, "git_dirty": False, "git_diff_sha256": None}
    digest = hashlib.sha256((_git(root, "diff", "HEAD", "--", *PACKAGES) or "").encode())
    untracked = (_git(root, "ls-files", "--others", "--exclude-standard", "--", *PACKAGES) or "").split()
    for name in sorted(untracked):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return {"git_commit": commit, "git_dirty": True, "git_diff_sha256": digest.hexdigest()}


def identity(root: Path | None = None) -> dict:
    """What code this is: a snapshot's code.json, or the checkout's git state. Keys git_commit,
    git_dirty, git_diff_sha256 and code_snapshot (the copy's folder, None for a checkout)."""
    root = root or package_root()
    marker = root / CODE_JSON
    if marker.exists():
        try:
            saved = json.loads(marker.read_text())
            return {k: saved.get(k) for k in ("git_commit", "git_dirty", "git_diff_sha256")} | \
                {"code_snapshot": str(root)}
        except (OSError, ValueError):
            pass
    return {**git_identity(root), "code_snapshot": None}


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
