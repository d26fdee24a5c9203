"""`bench run --pack / --compile / --tf32` as a user runs them."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import REPO, read_rows

TINY = ["--arch", "mlp", "--steps", "2", "--evals", "1", "--batch-size", "16", "--set", "width=32", "--no-progress"]


def test_pack_writes_each_seed_as_a_run_of_its_own(tmp_path, cli_inprocess):
    code, out, err = cli_inprocess("run", "--variants", "wgan-gp,sngan", "--seeds", "0-2", "--pack", "2",
                                   "--results", str(tmp_path), "--name", "p", *TINY)
    assert code == 0, err
    runs = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert len(runs) == 6 and all(v in out for v in runs)
    packs = {}
    for run in runs:
        record = json.loads((tmp_path / "p" / run / "run.json").read_text())
        assert record["status"] == "done" and [r["step"] for r in read_rows(tmp_path / "p" / run)] == [2]
        packs[run] = (record["speed"]["pack"], record["speed"].get("pack_seeds"))
    # seeds 0 and 1 of each variant were packed; seed 2 was left alone (a pack of one)
    assert sorted(packs.values(), key=str) == sorted([(2, [0, 1])] * 4 + [(1, None)] * 2, key=str)
    # the same command without --pack finds every run finished: the pack changed no run's identity
    code, _, err = cli_inprocess("run", "--variants", "wgan-gp,sngan", "--seeds", "0-2",
                                 "--results", str(tmp_path), "--name", "p", *TINY)
    assert code == 0 and err.count("skipped") == 6, err


def test_compile_mode_is_recorded_and_does_not_change_the_run(tmp_path, cli_inprocess):
    args = ("run", "--variants", "gan", "--results", str(tmp_path), "--name", "c", *TINY)
    assert cli_inprocess(*args, "--compile", "none")[0] == 0
    (run,) = (tmp_path / "c").iterdir()
    speed = json.loads((run / "run.json").read_text())["speed"]
    assert (speed["compile"], speed["compile_requested"], speed["tf32"]) == ("none", "none", False)
    code, _, err = cli_inprocess(*args)  # auto: the same run, already finished
    assert code == 0 and "skipped" in err


@pytest.mark.parametrize("flags, message", [
    (["--compile", "graph", "--device", "cpu"], "--compile graph captures CUDA graphs and needs a CUDA device"),
    (["--tf32", "--device", "cpu"], "--tf32 applies to CUDA matmuls"),
    (["--pack", "0"], "--pack 0: must be >= 1"),
])
def test_impossible_speed_settings_exit_2_and_write_nothing(tmp_path, cli_inprocess, flags, message):
    code, _, err = cli_inprocess("run", "--variants", "gan", "--results", str(tmp_path / "r"), *TINY, *flags)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "r").exists()


def test_benchmark_script_runs_and_prints_ratios(tmp_path):
    """The toy benchmark end to end, shrunk (the real workload is the default)."""
    import subprocess

    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.toy_wgan_gp", "--device", "cpu", "--steps", "1", "--repeats", "2",
         "--warmup", "1", "--batch-size", "8", "--width", "16", "--packs", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("toy WGAN-GP: MLP 2-16x3, batch 8")
    table = {line[:40].strip(): line[40:].split() for line in lines[3:]}
    assert set(table) == {"plain loop (losses logged every step)", "plain loop (no per-step logging)",
                          "bench run --compile none", "bench run --compile none --pack 2"}
    assert table["plain loop (losses logged every step)"][-2:] == ["1.00", "1.00-1.00"]
    gen, run_steps, ratio = (float(x) for x in table["bench run --compile none --pack 2"][:3])
    low, high = (float(x) for x in table["bench run --compile none --pack 2"][3].split("-"))
    assert gen > 0 and run_steps == pytest.approx(2 * gen, rel=0.01) and low <= ratio <= high


@pytest.mark.parametrize("script", ["fmnist_mlp_wgan_gp", "fmnist_dcgan_wgan_gp"])
def test_image_benchmarks_run_or_name_what_is_missing(script):
    """With the image data sets and archs registered they run; without them (or without the
    Fashion-MNIST files) they fail with one line naming what is missing."""
    import subprocess

    res = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{script}", "--device", "cpu", "--steps", "1", "--repeats", "1",
         "--warmup", "1", "--batch-size", "4", "--width", "8"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    if res.returncode == 0:
        assert "Fashion-MNIST" in res.stdout and "x plain" in res.stdout
    else:
        assert res.returncode == 2 and res.stderr.startswith("benchmark: error: "), res.stderr
        assert res.stderr.count("\n") == 1 and "fashion-mnist" in res.stderr.lower()


@pytest.mark.parametrize("executor", ["debug", "local"])
def test_sweep_packs_seeds_into_one_job(tmp_path, executor):
    """`pack: 2` in a sweep: seeds 0 and 1 go to one job (one process) that trains them together,
    seed 2 to a job of its own; `bench status` and re-submission see three runs as usual."""
    from click.testing import CliRunner

    from bench.cli.app import cli
    from bench.sweep.status import read_jsonl

    sweep = tmp_path / "packed.yaml"
    sweep.write_text("variants: [gan]\narchs: [mlp]\ndatasets: [8gaussians]\nseeds: 0-2\nsteps: 3\nevals: 1\n"
                     "batch_size: 16\nset: {width: 32}\npack: 2\n")
    args = ["sweep", str(sweep), "--executor", executor, "--results", str(tmp_path / "r")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    folder = tmp_path / "r" / "packed"
    packs = {}
    for run in sorted(folder.glob("*/run.json")):
        record = json.loads(run.read_text())
        assert record["status"] == "done" and record["step"] == 3
        packs[record["config"]["seed"]] = record["speed"]["pack"]
    assert packs == {0: 2, 1: 2, 2: 1}
    assert "3 runs: 0 pending, 0 running, 3 done, 0 failed" in res.output
    if executor == "local":
        jobs = read_jsonl(folder / "jobs.jsonl")
        by_seed = {j["run_id"].split("-s")[1][0]: j["job_id"] for j in jobs}
        assert by_seed["0"] == by_seed["1"] != by_seed["2"]
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "submitting 0 runs" in again.output, again.output
