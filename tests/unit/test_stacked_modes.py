"""Stacked Fashion-MNIST and its mode metrics: the data holds all 1,000 label triples, each stacked image
is its three source images, the counter and the KL agree with hand-made cases, and a single-channel
classifier reads stacked images channel by channel."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from bench.data import build_dataset
from bench.data.images import to_unit_range
from bench.metrics import METRICS, EvalContext, Missing
from bench.metrics import stacked_modes as sm
from bench.metrics.classifier import SmallCNN, channel_labels, features_and_logits
from tests.images.files import write_mnist_like


@pytest.fixture(scope="module")
def stacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("fm")
    write_mnist_like(root, 40, 30, gz=False)  # labels i % 10
    return build_dataset("stacked-fashion-mnist", data_root=root)


def test_stacked_data_has_all_1000_label_triples(stacked):
    assert stacked.shape == (3, 32, 32) and stacked.family == "image"
    train_modes = stacked.mode_labels("train")
    assert len(train_modes) == 128_000 and train_modes.unique().numel() == 1000
    assert int(train_modes.min()) == 0 and int(train_modes.max()) == 999
    assert stacked.describe()["modes"] == 1000


def test_a_stacked_image_is_its_three_source_images(stacked):
    i, (a, b, c) = 7, stacked.test_triples[7].tolist()
    src = stacked.channel_source.test
    assert torch.equal(stacked.test[i], torch.cat([src[a], src[b], src[c]]))
    labels = stacked.channel_source.test_labels
    assert int(stacked.mode_labels("test")[i]) == 100 * labels[a] + 10 * labels[b] + labels[c]


def test_training_batches_are_stacked_training_images(stacked):
    x = stacked.sample(16, torch.Generator().manual_seed(0))
    assert x.shape == (16, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    singles = to_unit_range(stacked.channel_source.train).flatten(1)  # [40, 1024]
    for channel in x[:4].flatten(2).unbind(1):  # every channel is one of the 40 training images
        assert (channel[:, None] == singles[None]).all(-1).any(1).all()


def test_heldout_is_fixed_and_bounded(stacked):
    assert torch.equal(stacked.heldout(20, 5), stacked.heldout(20, 5))
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="n_eval"):
        stacked.heldout(10_001, 0)


def test_mode_counter_on_a_hand_made_set():
    labels = torch.tensor([[0, 0, 0], [0, 0, 0], [1, 2, 3], [9, 9, 9], [3, 2, 1]])
    ids = sm.mode_ids(labels, 10)
    assert ids.tolist() == [0, 0, 123, 999, 321]
    counts = sm.mode_histogram(ids, 1000)
    assert counts.sum() == 5 and counts[0] == 2 and counts[123] == counts[999] == counts[321] == 1
    assert sm.modes_captured(counts) == 4


def test_kl_to_uniform_closed_forms():
    assert sm.kl_to_uniform(np.full(1000, 26)) == pytest.approx(0.0, abs=1e-12)
    one = np.zeros(1000)
    one[417] = 26_000
    assert sm.kl_to_uniform(one) == pytest.approx(math.log(1000), rel=1e-12)
    half = np.zeros(1000)
    half[:500] = 3  # uniform over half the modes: log 2
    assert sm.kl_to_uniform(half) == pytest.approx(math.log(2), rel=1e-12)


def test_single_channel_classifier_reads_stacked_images_per_channel():
    torch.manual_seed(0)
    model = SmallCNN(1, 10, feature_dim=16, width=4).eval()
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        feats, logits = features_and_logits(model, x)
        per = [model(x[:, c:c + 1]) for c in range(3)]
    assert feats.shape == (5, 48) and logits.shape == (5, 1000)
    torch.testing.assert_close(feats[:, 16:32], per[1][0])
    # softmax of the joint logits = the product of the channels' class probabilities
    p = [torch.softmax(lg, 1) for _, lg in per]
    joint = (p[0][:, :, None, None] * p[1][:, None, :, None] * p[2][:, None, None, :]).flatten(1)
    torch.testing.assert_close(torch.softmax(logits, 1), joint)
    assert torch.equal(channel_labels(model, x), torch.stack([lg.argmax(1) for _, lg in per], 1))


class _BrightnessClassifier(nn.Module):
    """A stand-in classifier: class = the image's brightness decile (so labels are known exactly)."""

    in_channels, num_classes = 1, 10

    def forward(self, x):
        level = ((x.mean((1, 2, 3)) + 1) / 2 * 10).clamp(0, 9.99).floor().long()
        return x.flatten(1)[:, :4], nn.functional.one_hot(level, 10).float()


def test_stacked_modes_metric_counts_what_the_generator_draws(stacked, monkeypatch):
    # a "generator" whose samples have channel brightness deciles (1, 2, 3) or (4, 4, 4), alternately
    monkeypatch.setattr(sm, "cached_classifier", lambda path, hash_: _BrightnessClassifier())
    fake_extractor = type("E", (), {"weights_path": "x", "weights_hash": "h"})
    monkeypatch.setattr(sm, "classifier_extractor", lambda ds: fake_extractor)

    def constant(level):  # brightness decile `level` -> a pixel value in [-1, 1]
        return (level + 0.5) / 10 * 2 - 1

    def sample(n):
        for start in range(0, n, 4):
            k = min(4, n - start)
            levels = torch.tensor([[1, 2, 3] if (start + i) % 2 == 0 else [4, 4, 4] for i in range(k)])
            yield constant(levels.float())[:, :, None, None].expand(k, 3, 32, 32)

    real = stacked.heldout(4, 0)
    ctx = EvalContext(fake=real, real=real, dataset=stacked, score=None, step=1, sample=sample, n_modes=10)
    out = METRICS.get("stacked_modes").compute(ctx)
    assert out["modes"] == 2 and out["modes_n"] == 10
    assert out["modes_kl"] == pytest.approx(math.log(1000 / 2), rel=1e-9)  # two equally frequent modes


def test_stacked_modes_is_missing_on_unstacked_images():
    plain = type("Plain", (), {"name": "fashion-mnist", "family": "image", "shape": (1, 32, 32)})()
    ctx = EvalContext(fake=torch.zeros(2, 1, 32, 32), real=torch.zeros(2, 1, 32, 32), dataset=plain, score=None, step=1)
    out = METRICS.get("stacked_modes").compute(ctx)
    assert isinstance(out, Missing) and "not stacked" in out.reason


def test_modes_means_modes_captured_in_both_families():
    toy, stacked_metric = METRICS.get("modes"), METRICS.get("stacked_modes")
    assert toy.applies_to("toy") and not toy.applies_to("image")
    assert stacked_metric.applies_to("image") and not stacked_metric.applies_to("toy")
    assert "modes" in toy.keys and "modes" in stacked_metric.keys
    assert "modes captured" in toy.protocol and "modes captured" in stacked_metric.protocol
