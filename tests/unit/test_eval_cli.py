"""`bench eval` recomputes a run's metrics from its per-step generator weights and appends marked rows."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import read_rows
from tests.images.files import write_mnist_like
from tests.unit.test_inception_plumbing import make_random_inception_weights
from tests.unit.test_quality_metrics import random_shipped  # noqa: F401  (fixture)


@pytest.mark.fidelity
def test_eval_recomputes_fid_with_inception(cli_inprocess, tmp_path, monkeypatch, random_shipped):  # noqa: F811
    write_mnist_like(tmp_path / "fm", 40, 10, gz=True)
    torch.set_num_threads(1)
    code, _, err = cli_inprocess("run", "--variants", "wgan-gp", "--arch", "dcgan", "--dataset", "fashion-mnist",
                                 "--data-root", str(tmp_path / "fm"), "--steps", "2", "--evals", "2",
                                 "--batch-size", "4", "--n-eval", "10", "--set", "width=8", "--device", "cpu",
                                 "--results", str(tmp_path / "res"), "--name", "t", "--no-progress")
    assert code == 0, err
    (run_dir,) = (tmp_path / "res" / "t").iterdir()
    assert sorted(p.name for p in (run_dir / "ckpt").glob("G_step_*.pt")) == ["G_step_0000001.pt", "G_step_0000002.pt"]
    before = read_rows(run_dir)

    code, _, err = cli_inprocess("eval", str(run_dir), "--metrics", "w1_feat", "--step", "all")
    assert code == 0, err
    rows = read_rows(run_dir)
    assert rows[:len(before)] == before and [r["step"] for r in rows[len(before):]] == [1, 2]
    assert all(r["recomputed"] is True for r in rows[len(before):])
    # the same weights and latents give the same feature-space W1 as the training run's row
    assert rows[-1]["w1_exact_feat"] == pytest.approx(before[-1]["w1_exact_feat"], rel=1e-6)

    weights = make_random_inception_weights(tmp_path / "inception.pth", monkeypatch)
    code, out, err = cli_inprocess("eval", str(run_dir), "--metrics", "fidelity", "--extractor", "inception",
                                   "--inception-weights", str(weights))
    assert code == 0, err
    last = read_rows(run_dir)[-1]
    assert last["recomputed"] and last["step"] == 2 and last["extractor"].startswith("inception:")
    assert isinstance(last["fid"], float) and "extractor_fallback" not in last


def test_eval_rejects_a_folder_without_weights(cli_inprocess, tmp_path):
    code, _, err = cli_inprocess("eval", str(tmp_path), "--metrics", "fidelity")
    assert code == 2 and "G_step_" in err
