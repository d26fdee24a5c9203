"""What code is running: a sweep snapshot's code.json, or the checkout's git state.

run.json records it (bench.train.record.environment) so that every number says what code computed it;
bench.sweep.snapshot writes code.json into each copy it takes, from the same `identity`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

PACKAGES = ("bench", "variants")  # what a job imports from the checkout
CODE_JSON = "code.json"


def package_root() -> Path:
    """The folder holding the bench package that is running (a checkout, or a snapshot)."""
    import bench

    return Path(bench.__file__).resolve().parents[1]


def git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode(errors="replace") if out.returncode == 0 else None


def git_identity(root: Path) -> dict:
    """commit, dirty flag and SHA-256 of the uncommitted changes to the packages, from git."""
    commit = (git(root, "rev-parse", "HEAD") or "").strip() or None
    if commit is None:
        return {"git_commit": None, "git_dirty": None, "git_diff_sha256": None}
    changes = git(root, "status", "--porcelain", "--", *PACKAGES)
    if changes is None:
        return {"git_commit": commit, "git_dirty": None, "git_diff_sha256": None}
    if not changes.strip():
        return {"git_commit": commit, "git_dirty": False, "git_diff_sha256": None}
    digest = hashlib.sha256((git(root, "diff", "HEAD", "--", *PACKAGES) or "").encode())
    untracked = (git(root, "ls-files", "--others", "--exclude-standard", "--", *PACKAGES) or "").split()
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
