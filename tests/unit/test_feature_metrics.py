"""Feature-space Wasserstein estimates and torch-fidelity plumbing, against closed forms."""

import numpy as np
import pytest
import scipy.stats
import torch

from bench.metrics.classifier import EXTRACTOR_NAME, SmallCNN, file_hash, save_classifier, to_uint8, from_uint8
from bench.metrics.features import w1_exact_features, w1_sliced
from bench.metrics.fidelity import Extractor, fidelity_metrics


def test_w1_exact_features_shift():
    x = np.random.default_rng(0).normal(size=(200, 16))
    t = np.zeros(16)
    t[3] = 0.7
    assert w1_exact_features(x, x + t) == pytest.approx(0.7, abs=1e-7)


def test_w1_sliced_one_dimensional_equals_w1():
    # in 1-D every projection is +-1, so the sliced W1 is the W1 of the samples
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=300), rng.normal(loc=2.0, size=300)
    assert w1_sliced(x[:, None], y[:, None]) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-9)


def test_w1_sliced_of_a_shift():
    # shift by t in d dims: each direction theta gives |theta . t|; E|theta . t| over the unit sphere is
    # |t| * E|theta_1| = |t| * Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)); for d = 2: 2 |t| / pi
    x = np.random.default_rng(2).normal(size=(400, 2))
    assert w1_sliced(x, x + np.array([1.0, 0.0]), n_projections=20000) == pytest.approx(2 / np.pi, rel=0.02)


def test_uint8_round_trip():
    x = torch.linspace(-1, 1, 256).view(1, 1, 16, 16)
    assert torch.equal(to_uint8(x).view(-1), torch.arange(256, dtype=torch.uint8))
    assert torch.allclose(from_uint8(to_uint8(x)), x, atol=1 / 127.5)


@pytest.fixture(scope="module")
def random_extractor(tmp_path_factory):
    d = tmp_path_factory.mktemp("extractor")
    torch.manual_seed(0)
    save_classifier(SmallCNN(1, 10), 0.0, d / "c.pt", {"dataset": "test"})
    return Extractor("classifier", EXTRACTOR_NAME, d / "c.pt", file_hash(d / "c.pt"), None), d


@pytest.mark.fidelity
def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(random_extractor):
    extractor, d = random_extractor
    x = torch.rand(300, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    kw = dict(extractor=extractor, cache_dir=d / "cache", real_cache_name="test-real-300", device=torch.device("cpu"),
              kid_subsets=10)
    same = fidelity_metrics(x, x, **kw)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)
    assert same["kid_mean"] == pytest.approx(0.0, abs=1e-6)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    fids = [fidelity_metrics((x + s * noise).clamp(-1, 1), x, **kw)["fid"] for s in (0.1, 0.3, 0.6)]
    assert 0 < fids[0] < fids[1] < fids[2]


def test_real_features_are_computed_once_per_content_and_equal_a_fresh_computation(random_extractor, monkeypatch):
    import bench.metrics.quality as quality

    extractor, _ = random_extractor
    x = torch.rand(50, 1, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    fresh = quality.classifier_features(x, extractor.weights_path, extractor.weights_hash)
    calls = []
    compute = quality.classifier_features
    monkeypatch.setattr(quality, "classifier_features", lambda *a: calls.append(1) or compute(*a))
    monkeypatch.setattr(quality, "_REAL_FEATURES", {})
    first = quality.real_features(x, extractor.weights_path, extractor.weights_hash)
    again = quality.real_features(x.clone(), extractor.weights_path, extractor.weights_hash)  # same content
    assert len(calls) == 1 and np.array_equal(first, fresh) and np.array_equal(again, fresh)
    other = quality.real_features(x.flip(0), extractor.weights_path, extractor.weights_hash)  # other content
    assert len(calls) == 2 and not np.array_equal(other, fresh)
