"""How a run is measured (bench.eval_options): `bench run --extractor/--inception-weights/--w-indep-steps/
--n-modes`, their one-line errors before anything is written, the preset defaults, run.json's record,
and rows of a stacked-data run and of an Inception run."""

from __future__ import annotations

import json

import pytest
import torch

from bench.config import RunOptions, plan_runs
from bench.eval_options import PRESETS, EvalOptions
from bench.sweep.grid import spec_from_mapping
from tests.conftest import read_rows
from tests.images.files import write_mnist_like
from tests.unit.test_inception_plumbing import make_random_inception_weights
from tests.unit.test_quality_metrics import random_shipped  # noqa: F401  (fixture)

TOY_RUN = ("run", "--variants", "gan", "--arch", "mlp", "--steps", "2", "--evals", "1", "--n-eval", "40",
           "--device", "cpu", "--no-progress", "--name", "t")


@pytest.mark.parametrize("extra, message", [
    (["--extractor", "inception", "--inception-weights", "{tmp}/nope.pth"], "no such file"),
    (["--extractor", "inception", "--inception-weights", "{tmp}"], "no such file"),  # a folder
    (["--extractor", "inception", "--inception-weights", "{tmp}/garbage.pth"], "are not a PyTorch weights file"),
    (["--inception-weights", "{tmp}/garbage.pth"], "add --extractor inception"),
    (["--w-indep-steps", "-1"], "--w-indep-steps -1: must be >= 0"),
    (["--n-modes", "0"], "--n-modes 0: must be >= 1"),
])
def test_bad_evaluation_options_are_one_line_exit_2_and_write_nothing(cli_inprocess, tmp_path, extra, message):
    (tmp_path / "garbage.pth").write_text("not a weights file\n")
    results = tmp_path / "res"
    code, _, err = cli_inprocess(*TOY_RUN, "--results", str(results), *[e.format(tmp=tmp_path) for e in extra])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not results.exists()


def test_preset_defaults_and_overrides():
    quick, = plan_runs(["gan"], "mlp", "8gaussians", [0], "quick")
    standard, = plan_runs(["gan"], "mlp", "8gaussians", [0], "standard")
    assert quick.evaluation == EvalOptions("classifier", None, PRESETS["quick"]["w_indep_steps"], 2600, 3)
    assert quick.evaluation.w_indep_steps == 0  # off in quick
    assert (standard.evaluation.w_indep_steps, standard.evaluation.n_modes) == (500, 26_000)
    on, = plan_runs(["gan"], "mlp", "8gaussians", [0], "quick", options=RunOptions.of(w_indep_steps=50, n_modes=100))
    assert (on.evaluation.w_indep_steps, on.evaluation.n_modes) == (50, 100)
    # how a run is measured is not part of what it is: same run id, same config
    assert on.run_id == quick.run_id and on.to_dict() == quick.to_dict()


def test_sweep_files_take_the_evaluation_keys():
    spec = spec_from_mapping({"name": "s", "variants": "gan", "archs": "mlp", "datasets": "8gaussians", "seeds": 0,
                              "w_indep_steps": 20, "extractor": "classifier"}, "sweep.yaml")
    assert spec.options == {"w_indep_steps": 20, "extractor": "classifier"}


@pytest.mark.fidelity
def test_stacked_run_rows_carry_modes_and_w_indep(cli_inprocess, tmp_path, random_shipped):  # noqa: F811
    write_mnist_like(tmp_path / "fm", 40, 30, gz=True)
    torch.set_num_threads(1)
    code, _, err = cli_inprocess("run", "--variants", "wgan-gp", "--arch", "dcgan",
                                 "--dataset", "stacked-fashion-mnist", "--data-root", str(tmp_path / "fm"),
                                 "--steps", "1", "--evals", "1",
                                 "--batch-size", "4", "--n-eval", "30", "--set", "width=8", "--device", "cpu",
                                 "--n-modes", "50", "--w-indep-steps", "3",
                                 "--results", str(tmp_path / "res"), "--name", "t", "--no-progress")
    assert code == 0, err
    (run_dir,) = (tmp_path / "res" / "t").iterdir()
    row = read_rows(run_dir)[-1]
    assert isinstance(row["modes"], int) and 1 <= row["modes"] <= 50 and row["modes_n"] == 50
    assert 0 <= row["modes_kl"] <= 6.9078
    assert isinstance(row["w_indep"], float) and (row["w_indep_steps"], row["w_indep_n"]) == (3, 15)
    assert isinstance(row["fid"], float) and row["extractor"].startswith("classifier:")  # per-channel features
    record = json.loads((run_dir / "run.json").read_text())
    assert record["evaluation"] == {"extractor": "classifier", "inception_weights": None, "w_indep_steps": 3,
                                    "n_modes": 50, "pictures": 3}
    assert {"stacked_modes", "w_indep"} <= set(record["protocol"]) and "modes" not in record["protocol"]
    assert record["data"]["modes"] == 1000


@pytest.mark.fidelity
def test_quick_image_rows_have_no_w_indep(cli_inprocess, tmp_path, random_shipped):  # noqa: F811
    write_mnist_like(tmp_path / "fm", 40, 30, gz=True)
    torch.set_num_threads(1)
    code, _, err = cli_inprocess("run", "--variants", "wgan-gp", "--arch", "dcgan", "--dataset", "fashion-mnist",
                                 "--data-root", str(tmp_path / "fm"), "--steps", "1", "--evals", "1",
                                 "--batch-size", "4", "--n-eval", "30", "--set", "width=8", "--device", "cpu",
                                 "--results", str(tmp_path / "res"), "--name", "t", "--no-progress")
    assert code == 0, err
    (run_dir,) = (tmp_path / "res" / "t").iterdir()
    row = read_rows(run_dir)[-1]
    assert "w_indep" not in row and row["modes"] is None and "not stacked" in row["missing"]["modes"]


@pytest.mark.fidelity
def test_run_with_inception_records_it_in_rows_and_run_json(cli_inprocess, tmp_path, monkeypatch,
                                                            random_shipped):  # noqa: F811
    weights = make_random_inception_weights(tmp_path / "inception.pth", monkeypatch)
    write_mnist_like(tmp_path / "fm", 40, 10, gz=True)
    torch.set_num_threads(1)
    code, _, err = cli_inprocess("run", "--variants", "wgan-gp", "--arch", "dcgan", "--dataset", "fashion-mnist",
                                 "--data-root", str(tmp_path / "fm"), "--steps", "1", "--evals", "1",
                                 "--batch-size", "4", "--n-eval", "10", "--set", "width=8", "--device", "cpu",
                                 "--extractor", "inception", "--inception-weights", str(weights),
                                 "--results", str(tmp_path / "res"), "--name", "t", "--no-progress")
    assert code == 0, err
    (run_dir,) = (tmp_path / "res" / "t").iterdir()
    row = read_rows(run_dir)[-1]
    assert row["extractor"].startswith("inception:") and isinstance(row["fid"], float)
    assert "extractor_fallback" not in row
    evaluation = json.loads((run_dir / "run.json").read_text())["evaluation"]
    assert evaluation["extractor"] == "inception" and evaluation["inception_weights"] == str(weights.resolve())
    assert row["extractor"] == f"inception:{evaluation['inception_weights_hash']}"
