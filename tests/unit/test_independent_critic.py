"""w_indep, the independent critic: on two Gaussians a known shift apart (W1 = the shift) it lands near
the shift and grows with it; on one distribution it is ~0; it is off when its steps are 0, leaves the
global random state alone, and is a function of its inputs only (the same for every variant)."""

from __future__ import annotations

import pytest
import torch

from bench.metrics import METRICS, EvalContext
from bench.metrics.independent import independent_gap

STEPS = 200  # enough for the toy critic at its learning rate (see bench.metrics.independent)


@pytest.fixture(scope="module")
def gaussians():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(1)
    return torch.randn(1000, 2, generator=g), torch.randn(1000, 2, generator=g)


@pytest.fixture(scope="module")
def gaps(gaussians):
    """w_indep between N(0, I) and N(0, I) shifted by s along the first axis: W1 = s."""
    x, y = gaussians
    return {s: independent_gap(x, y + torch.tensor([s, 0.0]), "toy", STEPS) for s in (0.0, 1.0, 2.0)}


def test_w_indep_is_near_a_known_w1_and_grows_with_it(gaps):
    for shift in (1.0, 2.0):
        assert 0.75 * shift < gaps[shift] < 1.25 * shift, gaps
    assert gaps[0.0] < gaps[1.0] < gaps[2.0]


def test_w_indep_of_one_distribution_is_about_zero(gaps):
    assert abs(gaps[0.0]) < 0.2, gaps  # two samples of N(0, I): sampling noise only


def test_w_indep_is_reproducible_and_leaves_the_global_rng_alone(gaussians):
    x, y = gaussians
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = independent_gap(x[:200], y[:200] + 1, "toy", 5)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert independent_gap(x[:200], y[:200] + 1, "toy", 5) == a


def test_image_critic_runs_on_images():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(16, 3, 32, 32, generator=g) * 2 - 1
    fake = torch.rand(16, 3, 32, 32, generator=g) * 0.2 - 1  # dark images
    assert independent_gap(real, fake, "image", 3) == pytest.approx(independent_gap(real, fake, "image", 3))


def _ctx(steps):
    x = torch.randn(40, 2)
    toy = type("Toy", (), {"name": "toy", "family": "toy", "shape": (2,)})()
    return EvalContext(fake=x + 1, real=x, dataset=toy, score=None, step=1, w_indep_steps=steps)


def test_w_indep_metric_writes_its_protocol_keys_and_nothing_when_off():
    metric = METRICS.get("w_indep")
    assert metric.compute(_ctx(0)) == {}
    out = metric.compute(_ctx(3))
    assert set(out) == {"w_indep", "w_indep_steps", "w_indep_n"} and (out["w_indep_steps"], out["w_indep_n"]) == (3, 20)
