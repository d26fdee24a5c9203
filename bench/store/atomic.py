"""Write a file under its final name only once it is complete.

A process killed mid-write, or a disk that fills up mid-write, must never leave a file that looks
finished: a sample picture cut in half, or a checkpoint a later run would try to resume from. Every
file a run writes goes to a temporary name next to its target (same directory, so same file system)
and is renamed onto the target when complete; os.replace is atomic on POSIX. On any failure the
temporary file is removed, so a full disk is left as it was found.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """A hidden name next to `path`, private to this process, with the same suffix: writers that pick
    the format from the extension (matplotlib, PIL, numpy's savez) write the right format to it."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to the disk (a rename is only as durable as the data it points to)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_target(path: Path, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; when the block succeeds it becomes `path`, else it is removed.

    durable=True fsyncs the data before the rename (checkpoints: after a power cut, a checkpoint
    either is the complete new one or is still the old one).
    """
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with disk_errors_named(path):
            yield tmp
            if durable:
                fsync_file(tmp)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def disk_errors_named(path: Path) -> Iterator[None]:
    """Raise a failed write's OSError naming `path` (disk_error) instead of what the writer raised."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        err = disk_error(exc, path)  # the full disk, not torch's zip writer, is the news
        if err is exc:
            raise
        raise err from None


def disk_error(exc: BaseException, path: Path) -> BaseException:
    """The OSError behind a failed write, naming the file, to raise instead of `exc` (else `exc` itself).

    torch.save into a file object that raises OSError(ENOSPC) closes its zip archive on the way out,
    which fails again and raises a RuntimeError with the OSError as its context; writers given a file
    object raise OSErrors without a file name. Either way the user should read "no space left on
    device writing PATH" (bench.store.faults), not a zip-container assertion."""
    seen = exc
    while seen is not None and not isinstance(seen, OSError):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return exc
    if seen.filename is None:
        seen.filename = str(path)
    return seen


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left under `folder` (recursively). Call it only
    while holding the folder's run lock: then no live process is writing any of them."""
    gone = []
    for path in Path(folder).rglob(".*.tmp-*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, read in chunks (checkpoints of image runs are tens of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
