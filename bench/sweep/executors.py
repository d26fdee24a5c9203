"""submitit executors for a sweep's jobs: the code snapshot they import and the first line they run.

Every job runs `python -u SNAPSHOT/bench/sweep/jobstart.py FOLDER` (bench.sweep.jobstart: the stop signals are
noted from the job's first line, then submitit takes over) with the sweep's code snapshot
(bench.sweep.snapshot) first on PYTHONPATH, so that every task and every requeue runs the code that was
submitted. A script path, not `python -m bench.sweep.jobstart`: `-m` puts the job's working directory (the
directory it was submitted from, often the checkout itself) first on sys.path, ahead of the snapshot.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import submitit
from submitit.local.local import LocalExecutor
from submitit.slurm.slurm import SlurmExecutor

from bench.sweep.profile import Profile

def entry(python: str, code: Path, folder: Path) -> str:
    return " ".join([python, "-u", shlex.quote(str(code / "bench" / "sweep" / "jobstart.py")), shlex.quote(str(folder))])


class BenchSlurmExecutor(SlurmExecutor):
    code: Path  # the snapshot whose bench/sweep/jobstart.py starts the job

    @property
    def _submitit_command_str(self) -> str:
        return entry(self.python, self.code, self.folder)


class BenchLocalExecutor(LocalExecutor):
    code: Path

    @property
    def _submitit_command_str(self) -> str:
        return entry(self.python, self.code, self.folder)


def python_path(code: Path | None, current: str | None) -> str:
    parts = [str(code)] if code else []
    return ":".join(parts + ([current] if current else []))


def job_setup(profile: Profile, code: Path | None) -> list[str]:
    """Shell lines run before each SLURM job: the profile's, then import the code snapshot first."""
    if code is None:
        return list(profile.setup)
    return [*profile.setup, f"export PYTHONPATH={shlex.quote(str(code))}${{PYTHONPATH:+:$PYTHONPATH}}"]


def slurm_parameters(ex: SlurmExecutor, params: dict) -> dict:
    """bench.sweep.profile's AutoExecutor-style parameters as SlurmExecutor takes them: prefix off, generic
    names translated and memory converted (submitit's own _convert_parameters, as AutoExecutor does)."""
    return ex._convert_parameters({k.removeprefix("slurm_"): v for k, v in params.items()})


def make_executor(kind: str, folder: Path, profile: Profile, job_name: str, code: Path,
                  extra: dict | None = None) -> submitit.Executor:
    """A submitit executor for `kind` (slurm | local) with the profile's resources. For local jobs
    the snapshot goes on PYTHONPATH through the environment (bench.sweep.submit.run_local), so that no shell
    stands between submitit's controller and the job unless the profile has setup lines."""
    params = profile.submitit_parameters(kind)
    if kind == "slurm":
        ex = BenchSlurmExecutor(folder, max_num_timeout=profile.max_timeouts)
        ex.code = code
        ex.update_parameters(**slurm_parameters(ex, {**params, **(extra or {}), "name": job_name}),
                             setup=job_setup(profile, code))
    elif kind == "local":
        ex = BenchLocalExecutor(folder)
        ex.code = code
        local = {k: v for k, v in params.items() if k in ("timeout_min", "gpus_per_node", "tasks_per_node")}
        ex.update_parameters(**local, **({"setup": list(profile.setup)} if profile.setup else {}))
    else:
        raise ValueError(kind)
    return ex
