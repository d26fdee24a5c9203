"""The local SLURM cluster (slurm/local/start) for the `slurm`-marked tests.

Without a cluster that answers, these tests skip with the reason; under CI=true they fail instead,
because CI starts the cluster and must never skip them silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _conf() -> Path | None:
    local = REPO / "slurm" / "local" / "state" / "slurm.conf"
    if local.exists():
        return local
    return Path(os.environ["SLURM_CONF"]) if os.environ.get("SLURM_CONF") else None


def _problem(conf: Path | None) -> str | None:
    """Why no cluster can take jobs here, or None when one can."""
    if conf is None:
        return "no local SLURM cluster (start one with slurm/local/start)"
    for tool in ("sbatch", "sacct", "scontrol"):
        if not shutil.which(tool):
            return f"no {tool} on PATH (install slurm-wlm, or run slurm/local/start)"
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for cmd in (["scontrol", "ping"], ["sacct", "-n", "-j", "1"], ["sinfo", "-h", "-o", "%t"]):
        try:
            out = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd)}` hangs (SLURM_CONF={conf}); restart the cluster with slurm/local/start"
        if out.returncode != 0 or (cmd[0] == "scontrol" and "UP" not in out.stdout):
            return (f"the SLURM cluster of {conf} does not answer `{' '.join(cmd)}`: "
                    f"{(out.stderr or out.stdout).strip()[:200]}; start it with slurm/local/start")
    if not any(s in out.stdout for s in ("idle", "mix", "alloc")):
        return f"the SLURM node is not up (sinfo: {out.stdout.strip()}); restart it with slurm/local/start"
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    """SLURM_CONF of a cluster that takes jobs, exported for this process and the jobs it submits."""
    conf = _conf()
    problem = _problem(conf)
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", str(conf))
        mp.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
        yield conf
