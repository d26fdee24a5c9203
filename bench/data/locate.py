"""Where image files are looked for: --data-root, then $BENCH_DATA, then a system directory.

Each data set names the sub-folders it accepts under a root (e.g. the root itself, `fashion-mnist/`,
or torchvision's `FashionMNIST/raw/`); the first root that holds the files wins, and run.json
records which one it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import BenchError

ENV = "BENCH_DATA"


def search_roots(data_root: str | os.PathLike | None, system: Path | None = None) -> list[tuple[str, Path]]:
    """(label, path) pairs in search order. An explicit --data-root that does not exist is an error
    (a typo should not silently fall through to another copy of the data)."""
    roots: list[tuple[str, Path]] = []
    if data_root is not None:
        path = Path(data_root).expanduser()
        if not path.is_dir():
            raise BenchError(f"--data-root {data_root} is not a directory; create it, or pass the folder that holds the data")
        roots.append(("--data-root", path))
    env = os.environ.get(ENV)
    if env:
        roots.append((f"${ENV}", Path(env).expanduser()))
    if system is not None:
        roots.append(("system", system))
    return roots


def download_root(data_root: str | os.PathLike | None, name: str) -> Path:
    """Where --download saves files: --data-root, else $BENCH_DATA (created if missing)."""
    root = data_root if data_root is not None else os.environ.get(ENV)
    if not root:
        raise BenchError(f"--download needs somewhere to save {name}: pass --data-root DIR (or set ${ENV})")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def describe_roots(roots: list[tuple[str, Path]]) -> str:
    return ", ".join(f"{label} {path}" if label != "system" else str(path) for label, path in roots) or "nowhere"
