"""The toy mixtures have the published centres, spreads and weights."""

import math

import torch
from torch.testing import assert_close

from bench.data import DATASETS, build_dataset


def assign(x, modes):
    return torch.cdist(x, modes).argmin(1)


def test_eight_gaussians_centres_std_weights():
    ds = build_dataset("8gaussians")
    r = 2 / 1.414
    expected = torch.tensor([[r * math.cos(k * math.pi / 4), r * math.sin(k * math.pi / 4)] for k in range(8)])
    assert_close(ds.modes, expected)
    assert math.isclose(ds.mode_std, 0.02 / 1.414)
    x = ds.sample(40_000, torch.Generator().manual_seed(0))
    k = assign(x, ds.modes)
    resid = x - ds.modes[k]
    assert abs(resid.std().item() - ds.mode_std) / ds.mode_std < 0.02
    freq = torch.bincount(k, minlength=8).float() / len(k)
    assert_close(freq, torch.full((8,), 1 / 8), atol=0.01, rtol=0)


def test_twenty_five_gaussians_grid():
    ds = build_dataset("25gaussians")
    assert len(ds.modes) == 25
    grid = sorted({round(v, 5) for v in ds.modes[:, 0].tolist()})
    assert_close(torch.tensor(grid), torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0]) / 2.828)
    assert math.isclose(ds.mode_std, 0.05 / 2.828)
    x = ds.sample(50_000, torch.Generator().manual_seed(1))
    resid = x - ds.modes[assign(x, ds.modes)]
    assert abs(resid.std().item() - ds.mode_std) / ds.mode_std < 0.02


def test_swissroll_shape_and_scale():
    ds = build_dataset("swissroll")
    assert ds.modes is None
    x = ds.sample(20_000, torch.Generator().manual_seed(2))
    # radius t / 7.5 with t in [1.5 pi, 4.5 pi], plus noise 0.25 / 7.5 per coordinate
    radius = x.norm(dim=1)
    assert radius.min() > 1.5 * math.pi / 7.5 - 0.2 and radius.max() < 4.5 * math.pi / 7.5 + 0.2
    assert abs(radius.mean().item() - 3 * math.pi / 7.5) < 0.05


def test_sampling_is_seeded_and_heldout_is_fixed():
    ds = build_dataset("8gaussians")
    a = ds.sample(100, torch.Generator().manual_seed(5))
    b = ds.sample(100, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(ds.heldout(50, 7), ds.heldout(50, 7))
    assert not torch.equal(ds.heldout(50, 7), ds.heldout(50, 8))


def test_registry_lists_toy_sets():
    assert {"8gaussians", "25gaussians", "swissroll"} <= set(DATASETS.names())
