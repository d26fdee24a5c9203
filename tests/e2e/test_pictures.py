"""Cheap evaluation without changing a number: `bench run --pictures` draws the sample picture at a few
evaluation steps only, the .npz beside it keeps every evaluation sample the metrics used (so modes,
high-quality fraction and exact W1 can be recomputed from the file), and run.json splits the
evaluation time by part."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.data import build_dataset
from bench.eval_options import EvalOptions
from bench.metrics.toy import mode_coverage, w1_exact
from tests.conftest import read_rows

TINY = ["--variants", "gan", "--arch", "mlp", "--steps", "6", "--evals", "6", "--batch-size", "16",
        "--n-eval", "300", "--set", "width=32", "--device", "cpu", "--no-progress"]


@pytest.mark.parametrize("pictures, expected", [
    (3, [1, 11, 20]), (1, [20]), (0, []), ("all", list(range(1, 21))), (2, [1, 20]), (50, list(range(1, 21))),
    (5, [1, 6, 11, 15, 20]),
])
def test_picture_steps_are_spread_evenly_first_and_last_included(pictures, expected):
    steps = list(range(1, 21))
    assert sorted(EvalOptions(pictures=pictures).picture_steps(steps)) == expected
    assert EvalOptions(pictures=3).picture_steps([7]) == {7}


def test_pictures_at_a_few_steps_data_at_every_step(cli_inprocess, tmp_path):
    # --n-eval 1500: more than the 1,000 points a picture draws (SCATTER_POINTS), so a file that kept only
    # what the picture shows would fail below
    code, _, err = cli_inprocess("run", *TINY, "--n-eval", "1500", "--pictures", "2", "--w-indep-steps", "3",
                                 "--results", str(tmp_path), "--name", "p")
    assert code == 0, err
    (run,) = (tmp_path / "p").iterdir()
    samples = run / "samples"
    assert sorted(p.name for p in samples.glob("*.png")) == ["step_0000001.png", "step_0000006.png"]
    assert sorted(p.name for p in samples.glob("*.npz")) == [f"step_{s:07d}.npz" for s in range(1, 7)]
    record = json.loads((run / "run.json").read_text())
    assert record["evaluation"]["pictures"] == 2
    split = record["timings"]["eval_split_s"]
    assert set(split) == {"samples", "critic_gap", "w1_exact", "modes", "w_indep", "pictures"}
    assert all(v >= 0 for v in split.values())
    assert sum(split.values()) <= record["timings"]["eval_s"] + 1e-3

    # every evaluation sample is in the file: the row's modes, HQ fraction and exact W1 come back from it
    data = build_dataset("8gaussians")
    for row in read_rows(run):
        z = np.load(samples / f"step_{row['step']:07d}.npz")
        assert z["fake"].shape == z["real"].shape == (1500, 2)
        modes, hq = mode_coverage(torch.from_numpy(z["fake"]), data.modes, data.mode_std)
        assert (modes, hq) == (row["modes"], row["hq_frac"])
        assert w1_exact(z["fake"], z["real"]) == row["w1_exact"]


def test_default_is_three_pictures_and_all_draws_every_one(cli_inprocess, tmp_path):
    for name, extra, count in (("default", [], 3), ("all", ["--pictures", "all"], 6), ("none", ["--pictures", "0"], 0)):
        code, _, err = cli_inprocess("run", *TINY, *extra, "--results", str(tmp_path), "--name", name)
        assert code == 0, err
        (run,) = (tmp_path / name).iterdir()
        assert len(list((run / "samples").glob("*.png"))) == count, name
        assert len(list((run / "samples").glob("*.npz"))) == 6, name
    # how often a picture is drawn changes no number: the rows agree but for timings
    rows = {name: [{k: v for k, v in r.items() if k != "wall_s"} for r in read_rows(next((tmp_path / name).iterdir()))]
            for name in ("default", "all", "none")}
    assert rows["default"] == rows["all"] == rows["none"]


@pytest.mark.parametrize("value", ["some", "-1", "2.5"])
def test_bad_pictures_value_is_one_line_exit_2_and_writes_nothing(cli_inprocess, tmp_path, value):
    code, _, err = cli_inprocess("run", *TINY, "--pictures", value, "--results", str(tmp_path / "r"), "--name", "x")
    assert code == 2 and "--pictures" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()
