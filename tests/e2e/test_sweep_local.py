"""`bench sweep --executor local`: three runs as processes through submitit's local executor, then
`bench status`; submitting the finished sweep again starts nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bench.cli import cli
from bench.status import read_jsonl

ARGS = ["sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--seeds", "0-2",
        "--steps", "30", "--evals", "1", "--batch-size", "16", "--set", "width=32", "--name", "loc",
        "--executor", "local", "--array-parallelism", "2"]


def sweep(tmp_path):
    """In this process (the runs themselves are separate processes, importing this checkout)."""
    res = CliRunner().invoke(cli, [*ARGS, "--results", str(tmp_path)])
    assert res.exit_code == 0, res.output
    return res.output


def test_local_sweep_of_three_runs(tmp_path):
    out = sweep(tmp_path)
    folder = tmp_path / "loc"
    ids = sorted(p.parent.name for p in folder.glob("*/run.json"))
    assert ids == [f"gan-mlp-8gaussians-s{s}-{ids[0].rsplit('-', 1)[1]}" for s in range(3)]
    for rid in ids:
        record = json.loads((folder / rid / "run.json").read_text())
        assert record["status"] == "done" and record["step"] == 30
        assert [r["step"] for r in read_jsonl(folder / rid / "metrics.jsonl")] == [30]
    jobs = read_jsonl(folder / "jobs.jsonl")
    assert sorted(j["run_id"] for j in jobs) == ids and {j["executor"] for j in jobs} == {"local"}
    assert all((folder / "local-logs" / f"{j['job_id']}_0_log.out").exists() for j in jobs)
    assert "loc: 3 runs: 0 pending, 0 running, 3 done, 0 failed" in out

    again = sweep(tmp_path)
    assert "submitting 0 runs as local processes (3 finished, running or queued: left alone)" in again
    assert len(read_jsonl(folder / "jobs.jsonl")) == 3
