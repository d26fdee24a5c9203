"""The shipped Fashion-MNIST feature classifier: its recorded test accuracy is what it scores on the
installed test split, and as an IS extractor it tells real test images from noise."""

from __future__ import annotations

import pytest
import torch

from bench.errors import BenchError
from bench.metrics.classifier import EXTRACTOR_NAME, accuracy, file_hash, from_uint8, load_classifier
from bench.metrics.extractors import SHIPPED
from bench.metrics.fidelity import Extractor, fidelity_metrics

PATH = SHIPPED / "fashion-mnist.pt"


@pytest.fixture(scope="module")
def fmnist():
    from bench.data import build_dataset

    try:
        return build_dataset("fashion-mnist")
    except BenchError as e:  # CI installs dataset-fashion-mnist (.ci/apt-packages.txt)
        pytest.skip(str(e))


def test_shipped_classifier_scores_its_recorded_accuracy(fmnist):
    torch.set_num_threads(1)
    model, about = load_classifier(PATH)
    measured = accuracy(model, from_uint8(fmnist.test), fmnist.test_labels)
    assert measured == pytest.approx(about["test_accuracy"], abs=2e-3)
    assert about["recipe"]["epochs"] >= 1 and about["dataset"] == "fashion-mnist"
    assert measured >= 0.90  # the floor for Fashion-MNIST


@pytest.mark.fidelity
def test_inception_score_of_real_images_exceeds_noise(fmnist, tmp_path):
    torch.set_num_threads(1)
    ext = Extractor("classifier", EXTRACTOR_NAME, PATH, file_hash(PATH), None)
    real = from_uint8(fmnist.test[:500])
    noise = torch.rand(real.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    kw = dict(extractor=ext, cache_dir=tmp_path, real_cache_name="is-real-500", device=torch.device("cpu"),
              kid_subsets=5)
    is_real = fidelity_metrics(real, real, **kw)["is_mean"]
    is_noise = fidelity_metrics(noise, real, **kw)["is_mean"]
    assert is_real > 2 * is_noise and is_real > 3
