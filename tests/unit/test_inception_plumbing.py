"""The `inception` extractor end to end on a weights file of the right shape, made here from a randomly
initialized torch-fidelity InceptionV3 (plumbing only: no meaningful value is claimed)."""

from __future__ import annotations

import math

import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tfi

from bench.metrics import extractors
from bench.metrics.fidelity import INCEPTION, fidelity_metrics


def make_random_inception_weights(path, monkeypatch):
    """torch-fidelity's InceptionV3 loads weights in its constructor; skip that once to get the shapes."""
    with monkeypatch.context() as m:
        m.setattr(tfi, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        torch.manual_seed(0)
        net = tfi.FeatureExtractorInceptionV3(INCEPTION, ["2048"])
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.fidelity
def test_inception_path_runs_end_to_end(tmp_path, monkeypatch):
    weights = make_random_inception_weights(tmp_path / "inception.pth", monkeypatch)
    ext, fallback = extractors.choose_extractor("inception", None, weights)
    assert fallback is None and ext.name == "inception" and ext.channels == 3
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    fake, real = (torch.rand(8, 1, 32, 32, generator=g) * 2 - 1 for _ in range(2))
    out = fidelity_metrics(fake, real, ext, tmp_path / "cache", "inception-plumbing", torch.device("cpu"), kid_subsets=5)
    assert set(out) == {"fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall"}
    assert all(isinstance(v, float) for v in out.values()), out
    assert math.isfinite(out["fid"]) and math.isfinite(out["kid_mean"]), out
