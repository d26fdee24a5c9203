"""Exact W1 against closed forms; mode coverage on hand-made sets."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from bench.data import build_dataset
from bench.metrics.toy import mode_coverage, w1_exact


def test_w1_point_masses():
    # all mass at (0, 0) vs all at (3, 4): W1 = 5
    assert w1_exact(np.zeros((50, 2)), np.tile([3.0, 4.0], (50, 1))) == pytest.approx(5.0, abs=1e-9)


@pytest.mark.parametrize("shift", [[0.5, 0.0], [-1.0, 2.0], [0.0, 0.0]])
def test_w1_of_a_shift_is_its_length(shift):
    # W1(mu, mu + t) = |t|: the identity coupling costs |t|, and the 1-Lipschitz f(x) = t.x/|t| shows >= |t|
    x = np.random.default_rng(0).normal(size=(300, 2))
    # (ot.dist computes sqrt of squared distances: zero distances come out ~1e-8, hence the tolerance)
    assert w1_exact(x, x + np.array(shift)) == pytest.approx(np.linalg.norm(shift), abs=1e-7)


def test_w1_one_dimensional_matches_sorted_coupling():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=400), rng.exponential(size=400)
    assert w1_exact(x[:, None], y[:, None]) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-9)


def test_mode_coverage_hand_made():
    ds = build_dataset("8gaussians")
    m, s = ds.modes, ds.mode_std
    samples = torch.stack([
        m[0], m[0] + torch.tensor([2.9 * s, 0.0]),  # mode 0, both within 3 std
        m[3] + torch.tensor([0.0, -2.0 * s]),  # mode 3
        m[5] + torch.tensor([3.1 * s, 0.0]),  # just outside 3 std of mode 5: low quality
        torch.tensor([0.0, 0.0]),  # the centre: far from every mode
    ])
    captured, hq = mode_coverage(samples, m, s)
    assert captured == 2
    assert hq == pytest.approx(3 / 5)


def test_mode_coverage_of_the_data_itself():
    ds = build_dataset("25gaussians")
    x = ds.sample(20_000, torch.Generator().manual_seed(0))
    captured, hq = mode_coverage(x, ds.modes, ds.mode_std)
    assert captured == 25
    # within 3 std in 2-D: P(chi^2_2 <= 9) = 1 - exp(-4.5)
    assert hq == pytest.approx(1 - math.exp(-4.5), abs=0.003)
