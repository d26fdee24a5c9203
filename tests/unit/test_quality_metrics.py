"""The image quality metrics as the runner uses them: which rows carry them, their protocol keys,
the classifier's source (shipped, trained on first use), and the Inception fallback."""

from __future__ import annotations

import json

import pytest
import torch

from bench.metrics import METRICS
from bench.metrics import extractors
from bench.metrics.classifier import SmallCNN, save_classifier
from tests.conftest import read_rows
from tests.images.files import write_mnist_like

QUALITY_KEYS = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall", "w1_exact_feat", "w1_sliced")
PROTOCOL = ("extractor", "n_fake", "n_real", "ref_split")


def test_image_metrics_apply_to_images_only():
    for name in ("fidelity", "w1_feat"):
        assert METRICS.get(name).applies_to("image") and not METRICS.get(name).applies_to("toy")
    assert METRICS.get("critic_gap").applies_to("toy")


def test_toy_rows_carry_no_image_metric_keys(cli_inprocess, tmp_path):
    code, _, err = cli_inprocess("run", "--variants", "gan", "--arch", "mlp", "--steps", "2", "--evals", "1",
                                 "--n-eval", "50", "--device", "cpu", "--results", str(tmp_path), "--name", "t",
                                 "--no-progress")
    assert code == 0, err
    (run_dir,) = (tmp_path / "t").iterdir()
    row = read_rows(run_dir)[-1]
    assert not set(QUALITY_KEYS + PROTOCOL) & set(row)
    assert "fidelity" not in json.loads((run_dir / "run.json").read_text())["protocol"]


@pytest.fixture
def random_shipped(tmp_path, monkeypatch):
    """A randomly initialized classifier in place of the shipped ones (plumbing, not values)."""
    monkeypatch.setattr(extractors, "SHIPPED", tmp_path / "shipped")
    torch.manual_seed(0)
    save_classifier(SmallCNN(1, 10, width=8), 0.0, tmp_path / "shipped" / "fashion-mnist.pt", {"dataset": "test"})


@pytest.mark.fidelity
def test_image_rows_carry_quality_metrics_and_protocol(cli_inprocess, tmp_path, random_shipped):
    write_mnist_like(tmp_path / "fm", 40, 30, gz=True)
    torch.set_num_threads(1)
    code, _, err = cli_inprocess("run", "--variants", "wgan-gp", "--arch", "dcgan", "--dataset", "fashion-mnist",
                                 "--data-root", str(tmp_path / "fm"), "--steps", "1", "--evals", "1",
                                 "--batch-size", "4", "--n-eval", "30", "--set", "width=8", "--device", "cpu",
                                 "--results", str(tmp_path / "res"), "--name", "t", "--no-progress")
    assert code == 0, err
    (run_dir,) = (tmp_path / "res" / "t").iterdir()
    row = read_rows(run_dir)[-1]
    for key in QUALITY_KEYS:
        assert isinstance(row[key], float), key
    assert row["extractor"].startswith("classifier:") and len(row["extractor"]) == len("classifier:") + 16
    assert (row["n_fake"], row["n_real"], row["ref_split"]) == (30, 30, "test")
    assert "fewer than the literature's 10000" in row["fidelity_n_note"]
    protocol = json.loads((run_dir / "run.json").read_text())["protocol"]
    assert {"fidelity", "w1_feat"} <= set(protocol)


class _Tiny:
    name = "tiny-labelled"
    family = "image"

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.train = torch.randint(0, 256, (64, 1, 32, 32), dtype=torch.uint8, generator=g)
        self.test = self.train[:16]
        self.train_labels = torch.arange(64) % 4
        self.test_labels = self.train_labels[:16]


def test_classifier_is_trained_on_first_use_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(extractors, "RECIPE", {**extractors.RECIPE, "width": 4, "epochs": 1})
    ext = extractors.classifier_extractor(_Tiny())
    assert ext.weights_path == tmp_path / "classifiers" / "tiny-labelled.pt" and ext.weights_path.is_file()
    saved = torch.load(ext.weights_path, weights_only=True)
    assert saved["recipe"]["epochs"] == 1 and 0.0 <= saved["test_accuracy"] <= 1.0
    # a second call reuses the file
    mtime = ext.weights_path.stat().st_mtime_ns
    assert extractors.classifier_extractor(_Tiny()).weights_hash == ext.weights_hash
    assert ext.weights_path.stat().st_mtime_ns == mtime


def test_inception_without_weights_falls_back_with_a_reason(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(extractors, "RECIPE", {**extractors.RECIPE, "width": 4, "epochs": 1})
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(extractors, "_warned", set())
    ext, reason = extractors.choose_extractor("inception", _Tiny(), None)
    assert ext.name == "classifier" and "no InceptionV3 weights" in reason
    extractors.choose_extractor("inception", _Tiny(), None)
    assert capsys.readouterr().out.count("warning") == 1  # said once


def test_missing_inception_weights_file_is_a_user_error(tmp_path):
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="--inception-weights"):
        extractors.choose_extractor("inception", _Tiny(), tmp_path / "nope.pth")
