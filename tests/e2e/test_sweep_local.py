"""`bench sweep --executor local`: three runs as processes through submitit's local executor, then
`bench status`; submitting the finished sweep again starts nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bench.cli.app import cli
from bench.sweep.status import read_jsonl

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


def test_a_per_variant_override_runs_as_a_second_setting_of_that_variant_only(tmp_path):
    """A sweep file as the study uses it: every variant at its defaults, wgan-gp once more at another
    setting; run in this process (--executor debug), read back from the run folders."""
    path = tmp_path / "two.yaml"
    path.write_text("variants: [gan, wgan-gp]\narchs: [mlp]\ndatasets: [8gaussians]\nseeds: 0\nsteps: 4\n"
                    "evals: 2\nbatch_size: 16\nn_eval: 100\nset: {width: 16}\npictures: 1\n"
                    "overrides:\n  - {}\n  - {variants: [wgan-gp], gp_weight: 0.1, beta1: 0.5}\n")
    res = CliRunner().invoke(cli, ["sweep", str(path), "--executor", "debug", "--results", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "3 runs (2 variants x 1 arch x 1 data set x 1 seed x 2 overrides, 1 of them for some variants only)" \
        in res.output
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "r" / "two").glob("*/run.json"))]
    settings = sorted((r["config"]["variant"], r["config"]["hyper"].get("gp_weight", 0), r["config"]["hyper"]["beta1"],
                       r["status"]) for r in records)
    assert settings == [("gan", 0, 0.5, "done"), ("wgan-gp", 0.1, 0.5, "done"), ("wgan-gp", 10.0, 0.0, "done")]
    assert all(r["evaluation"]["pictures"] == 1 for r in records)
    sweep_json = json.loads((tmp_path / "r" / "two" / "sweep.json").read_text())
    assert {"variants": ["wgan-gp"], "gp_weight": "0.1", "beta1": "0.5"} in sweep_json["spec"]["overrides"]


def test_force_moves_finished_runs_aside_and_trains_them_again(tmp_path):
    """`bench sweep --force`, as `bench run --force`: a finished run's folder is kept under a new name and
    the run is trained again; --dry-run moves nothing."""
    args = ["sweep", "--variants", "gan", "--arch", "mlp", "--dataset", "8gaussians", "--seeds", "0", "--steps", "4",
            "--evals", "1", "--batch-size", "8", "--n-eval", "64", "--set", "width=8", "--name", "f",
            "--executor", "debug", "--results", str(tmp_path)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    (rid,) = [p.parent.name for p in (tmp_path / "f").glob("*/run.json")]
    dry = CliRunner().invoke(cli, [*args, "--force", "--dry-run"])
    assert dry.exit_code == 0 and f"replace  {rid}" in dry.output and "moving its done run aside" in dry.output
    assert not list((tmp_path / "f").glob("*.replaced-*"))
    forced = CliRunner().invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    (old,) = (tmp_path / "f").glob(f"{rid}.replaced-*")
    assert json.loads((old / "run.json").read_text())["status"] == "done"
    assert json.loads((tmp_path / "f" / rid / "run.json").read_text())["status"] == "done"
    assert read_jsonl(old / "metrics.jsonl")
    assert [r["step"] for r in read_jsonl(tmp_path / "f" / rid / "metrics.jsonl")] == [4]
