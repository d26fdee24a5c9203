"""How a run is executed, as opposed to what it computes: step capture (`--compile`), packed seeds
(`--pack`) and TF32 (`--tf32`).

Capture and packing change how fast a run goes, not what it computes (the numbers agree within
float tolerance), so they are recorded in run.json under "speed" but are not part of the run's
identity: the same seed gives the same run directory, and a run may resume under another mode.
TF32 does change the numbers (10-bit mantissas in matmuls and convolutions), so it is off unless
asked for, and a TF32 run's config says so (resuming it without --tf32 is refused).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from bench.errors import BenchError
from bench.options import option

# auto: the fastest mode that is correct for the variant on the device (see resolve_compile).
COMPILE_MODES = ("auto", "none", "graph", "compile")


@dataclass(frozen=True)
class Speed:
    compile: str = field(default="auto", metadata=option(  # bench.train.capture
        "How each training step runs: none (eager), graph (captured once as a CUDA graph, then replayed), "
        "compile (torch.compile); auto = graph on CUDA, none on the CPU. Recorded in run.json; does not "
        "change the run id or, beyond float rounding, the numbers.", choices=COMPILE_MODES))
    pack: int = field(default=1, metadata=option(  # bench.train.packed
        "Train up to K runs that differ only in seed together, with stacked parameters (batched matmuls); "
        "each writes its own run directory as if it had run alone (in a sweep: one job per pack).", metavar="K"))
    tf32: bool = field(default=False, metadata=option(
        "Allow TF32 in CUDA matmuls and convolutions (faster, ~1e-3 relative precision); recorded in the "
        "run's config."))

    def to_record(self) -> dict:
        return {"compile_requested": self.compile, "pack_requested": self.pack, "tf32": self.tf32}


def device_is_cuda(device: str) -> bool:
    """Whether a run with --device `device` trains on CUDA (auto: when PyTorch sees a CUDA device)."""
    import torch  # (here, not at the top: `bench --help` should not wait for torch)

    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def _cxx_compiler() -> str | None:
    """The C++ compiler TorchInductor would call, if one is installed."""
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def check(speed: Speed, device: str, variant_classes) -> None:
    """Refuse impossible combinations before anything is written (one line each, naming the fix)."""
    if speed.compile not in COMPILE_MODES:
        raise BenchError(f"unknown --compile {speed.compile!r}; choose one of: {', '.join(COMPILE_MODES)}")
    cuda = device_is_cuda(device)
    if speed.compile == "graph" and not cuda:
        raise BenchError("--compile graph captures CUDA graphs and needs a CUDA device; "
                         "on the CPU use --compile none (or compile)")
    if speed.compile == "compile" and _cxx_compiler() is None:
        raise BenchError("--compile compile needs a C++ compiler for TorchInductor (none of $CXX, g++, c++, "
                         "clang++ found); install g++ or use --compile none")
    if speed.tf32 and not cuda:
        raise BenchError("--tf32 applies to CUDA matmuls and convolutions only; drop it for a CPU run")
    if speed.pack < 1:
        raise BenchError(f"--pack {speed.pack}: must be >= 1 (the number of seeds trained together)")
    if speed.pack > 1:
        for cls in variant_classes:
            if not cls.packable:
                raise BenchError(f"variant {cls.name!r} cannot be packed (its losses cannot run per member "
                                 f"under torch.func.vmap); run it without --pack")


def resolve_compile(requested: str, device) -> tuple[str, str]:
    """The mode to use and why. `auto` picks CUDA graphs on CUDA: every built-in variant's steps
    (gradient penalty, clipping, spectral norm included) capture, and one replay per step beats
    torch.compile's separately launched forward/backward/optimizer pieces. On the CPU it picks none:
    there is no launch overhead to remove, the step time is matmuls, and TorchInductor's minute of
    compilation would not pay back in a short run."""
    if requested != "auto":
        return requested, "requested"
    if device.type == "cuda":
        return "graph", "auto: CUDA graphs on a CUDA device"
    return "none", "auto: plain eager steps on the CPU"


def set_tf32(device, on: bool) -> None:
    """Allow TF32 in CUDA matmuls and convolutions only when asked (PyTorch allows it in cuDNN
    convolutions by default, which would make image runs silently less precise)."""
    if device.type != "cuda":
        return
    import torch

    precision = "tf32" if on else "ieee"
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(matmul, "fp32_precision"):  # PyTorch >= 2.9
        matmul.fp32_precision = precision
        conv.conv.fp32_precision = precision
    else:
        matmul.allow_tf32 = on
        conv.allow_tf32 = on
