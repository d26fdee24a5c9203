"""A run's identity on resume, through the command line: the device counts as resolved (auto that picked the
CPU is the CPU), and a folder holding another configuration is refused naming the settings that differ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.train import loop
from tests.conftest import read_rows

TOY = ["run", "--variants", "gan", "--arch", "mlp", "--steps", "4", "--evals", "2", "--batch-size", "8",
       "--n-eval", "64", "--no-progress"]
TIMING = {"wall_s"}


def rows(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_rows(run_dir)]


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (-1, 0)
            for p in root.rglob("*")}


def only_run(folder: Path) -> Path:
    (run,) = [p for p in folder.iterdir() if p.is_dir()]
    return run


def cut_after_first_evaluation(monkeypatch, cli_inprocess, *args: str) -> Path:
    """Run, and stop it with Ctrl-C right after its first evaluation (its checkpoint is written)."""
    real = loop.checkpoint

    def checkpoint_then_stop(ledger):
        real(ledger)
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "checkpoint", checkpoint_then_stop)
    code, _, err = cli_inprocess(*args)
    monkeypatch.setattr(loop, "checkpoint", real)
    assert code == 130, err
    return only_run(Path(args[args.index("--results") + 1]) / args[args.index("--name") + 1])


@pytest.mark.parametrize("first, then", [((), ("--device", "cpu")), (("--device", "cpu"), ())],
                         ids=["auto-then-cpu", "cpu-then-auto"])
def test_a_run_resumes_under_the_other_spelling_of_its_device(first, then, tmp_path, monkeypatch, cli_inprocess,
                                                              one_thread):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # auto picks the CPU, as on a CPU-only machine
    res = str(tmp_path / "res")
    code, _, err = cli_inprocess(*TOY, "--device", "cpu", "--results", res, "--name", "straight")
    assert code == 0, err
    straight = only_run(tmp_path / "res" / "straight")

    cut = cut_after_first_evaluation(monkeypatch, cli_inprocess, *TOY, *first, "--results", res, "--name", "cut")
    assert cut.name == straight.name  # the device was never part of the run id
    assert json.loads((cut / "run.json").read_text())["status"] == "interrupted"

    code, _, err = cli_inprocess(*TOY, *then, "--results", res, "--name", "cut")
    assert code == 0, err
    assert "resumed from its checkpoint" in err
    record = json.loads((cut / "run.json").read_text())
    assert record["status"] == "done" and record["resumed_from_step"] == 2 and record["device"].startswith("cpu")
    assert rows(cut) == rows(straight)


def test_a_clash_names_the_settings_that_differ_and_writes_nothing(tmp_path, monkeypatch, cli_inprocess):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    res = str(tmp_path / "res")
    code, _, err = cli_inprocess(*TOY, "--results", res, "--name", "n")
    assert code == 0, err
    run_json = only_run(tmp_path / "res" / "n") / "run.json"
    record = json.loads(run_json.read_text())
    # as written by a version whose default critic learning rate was 1e-4, on a CUDA machine with --device auto
    record["config"]["hyper"]["lr_d"] = 1e-4
    record["device"] = "cuda (NVIDIA H200)"
    run_json.write_text(json.dumps(record, indent=2))
    before = tree(tmp_path)

    code, _, err = cli_inprocess(*TOY, "--results", res, "--name", "n")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), err
    assert ("holds a run with a different configuration: device cuda (stored) vs cpu (asked); hyper.lr_d 0.0001 "
            "(stored) vs 0.0002 (asked); choose another --name, or pass --force") in lines[0]
    assert tree(tmp_path) == before

    # the same run trained on the CPU under --device auto is the run asked for with --device cpu: only lr_d differs
    record["device"] = "cpu (2 cores, 1 threads)"
    run_json.write_text(json.dumps(record, indent=2))
    code, _, err = cli_inprocess(*TOY, "--device", "cpu", "--results", res, "--name", "n")
    assert code == 2 and "different configuration: hyper.lr_d 0.0001 (stored) vs 0.0002 (asked); choose" in err


def test_a_sweep_names_the_settings_that_differ(tmp_path, monkeypatch, cli_inprocess):
    res = str(tmp_path / "res")
    sweep = ["sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--seeds", "0", "--steps",
             "4", "--evals", "2", "--name", "s", "--executor", "debug", "--results", res]
    code, _, err = cli_inprocess(*sweep)
    assert code == 0, err
    run_json = only_run(tmp_path / "res" / "s") / "run.json"
    record = json.loads(run_json.read_text())
    record["config"]["schedule"]["batch_size"] = 32
    run_json.write_text(json.dumps(record, indent=2))
    code, _, err = cli_inprocess(*sweep)
    assert code == 2 and err.count("\n") == 1, err
    assert ("different configuration under the same id: schedule.batch_size 32 (stored) vs 64 (asked); submit the "
            "sweep under another --name") in err
