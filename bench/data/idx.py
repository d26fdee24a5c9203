"""A reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.; "THE IDX FILE FORMAT" on the
MNIST page), plain or gzip-compressed.

Layout: two zero bytes, a type byte (0x08 = uint8 ...), a byte giving the number of dimensions d,
d big-endian uint32 sizes, then the values in C order. We read it ourselves (a dozen lines with
numpy) rather than through torchvision because torchvision's reader asserts on a bad file; ours turns
every way a file can be wrong (missing, truncated, not gzip, wrong magic, wrong length) into one
BenchError that names the file and the fix.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from bench.errors import BenchError

# IDX type byte -> numpy dtype (big-endian where it matters).
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path, fix: str) -> np.ndarray:
    """The array stored in an IDX file (`.gz` or plain). `fix` is the advice appended to any error."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise BenchError(f"cannot read {path}: {reason}; {fix}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or not 1 <= raw[3] <= 4:
        raise BenchError(f"{path} is not an IDX file (bad header); {fix}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise BenchError(f"{path} is truncated (header cut short); {fix}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise BenchError(f"{path} is {what} ({len(raw)} bytes, expected {expected} for shape {dims}); {fix}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` as an IDX file (gzip-compressed when the name ends in .gz); the inverse of read_idx."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}
    array = np.ascontiguousarray(array)
    if array.dtype not in codes:
        raise ValueError(f"write_idx supports uint8 and int8 arrays, not {array.dtype}")
    data = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)
