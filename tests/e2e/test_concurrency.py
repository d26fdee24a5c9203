"""Many processes writing under one results root at once, as a sweep's jobs do on a shared file system.
(Two processes on the same run id: tests/e2e/test_faults.py, with SIGTERM.)"""

from __future__ import annotations

import json

from bench.store.atomic import sha256_file
from bench.store.checkpoint import RECORD
from bench.report.load import load
from bench.store.rundir import LOCK
from tests import procs

N = 16


def test_sixteen_processes_write_sixteen_complete_runs_under_one_root(tmp_path, cli_inprocess):
    root = tmp_path / "results"
    barrier = procs.context().Barrier(N)
    children = [
        procs.start(["run", "--variants", "gan", "--arch", "mlp", "--seeds", str(seed), "--steps", "3", "--evals", "1",
                     "--batch-size", "8", "--n-eval", "16", "--set", "width=8", "--no-progress",
                     "--results", str(root), "--name", "shared"], tmp_path / f"{seed}.log", barrier)
        for seed in range(N)
    ]
    for child in children:
        child.join(300)
    logs = {i: (tmp_path / f"{i}.log").read_text() for i in range(N)}
    assert [c.exitcode for c in children] == [0] * N, {i: logs[i][-2000:] for i, c in enumerate(children) if c.exitcode}

    runs = sorted((root / "shared").iterdir())
    assert len(runs) == N
    for run in runs:
        record = json.loads((run / "run.json").read_text())  # complete, valid JSON
        assert record["status"] == "done" and record["step"] == 3
        lines = (run / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in lines] == [3]
        for entry in json.loads((run / "ckpt" / RECORD).read_text())["checkpoints"]:
            assert sha256_file(run / "ckpt" / entry["file"]) == entry["sha256"]
        assert record["checkpoint"]["sha256"] == sha256_file(run / "ckpt" / "last.pt")
        assert not (run / LOCK).exists() and not list(run.rglob(".*.tmp-*"))

    res = load([root])
    assert len(res.runs) == N and set(res.runs["status"]) == {"done"} and sorted(res.runs["seed"]) == list(range(N))
    code, out, err = cli_inprocess("report", str(root / "shared"), "--no-figures", "--format", "csv", "--quiet",
                                   "--out", str(tmp_path / "report"))
    assert code == 0, err
    assert (tmp_path / "report" / "runs.csv").stat().st_size > 0
