"""The MLP critic's input gradient in closed form: autograd's numbers (first and second order), less work."""

import pytest
import torch
from torch.testing import assert_close

from bench.arch.mlp import VectorCritic
from variants import VARIANTS
from variants.losses import gradient_penalty, input_gradient


def critic(depth: int, shape: tuple[int, ...], width: int = 16) -> VectorCritic:
    torch.manual_seed(depth)
    return VectorCritic(width, depth, shape).double()


def batch(shape, n=32):
    g = torch.Generator().manual_seed(1)
    return (torch.randn(n, *shape, generator=g, dtype=torch.float64),
            torch.randn(n, *shape, generator=g, dtype=torch.float64), torch.rand(n, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)])
def test_equals_autograds_input_gradient(depth, shape):
    D = critic(depth, shape)
    x = torch.randn(32, *shape, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(D(x).sum(), x)
    got = D.input_gradient(x.detach())
    assert got.shape == x.shape
    assert_close(got, expected, rtol=1e-12, atol=1e-12)
    # the one helper penalties use: the closed form for the module, torch.func.vjp for a plain function
    assert_close(input_gradient(D, x.detach()), expected, rtol=1e-12, atol=1e-12)
    assert_close(input_gradient(lambda v: D(v), x.detach()), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)])
def test_the_penalty_and_its_weight_gradients_equal_the_double_backward(depth, shape):
    D = critic(depth, shape)
    real, fake, eps = batch(shape)
    score = lambda x: D(x).view(-1)  # noqa: E731  (a function: no closed form, autograd through vjp)
    via_autograd = gradient_penalty(score, real, fake, eps)
    closed = gradient_penalty(D, real, fake, eps)  # the module: its closed form
    assert_close(closed, via_autograd, rtol=1e-12, atol=1e-12)
    params = [p for p in D.parameters()]
    g_autograd = torch.autograd.grad(via_autograd, params, allow_unused=True)
    g_closed = torch.autograd.grad(closed, params, allow_unused=True)
    for name, a, b in zip([n for n, _ in D.named_parameters()], g_autograd, g_closed):
        if a is None or b is None:  # biases: the penalty depends on them through the masks only
            assert (a is None or not a.any()) and (b is None or not b.any()), name
        else:
            assert_close(b, a, rtol=1e-10, atol=1e-12, msg=name)


def test_saves_a_large_matrix_product_and_the_double_backward():
    from torch.profiler import profile

    width = 64  # and a batch of 64: a "large" product is width x width x width
    D = VectorCritic(width, 3, (2,))
    real, fake, eps = (t.float() for t in batch((2,), n=width))

    def large_products(critic) -> int:
        with profile(record_shapes=True) as prof:
            gp = gradient_penalty(critic, real, fake, eps)
            torch.autograd.grad(gp, [p for p in D.parameters() if p.dim() == 2])
        operands = {"aten::mm": slice(0, 2), "aten::addmm": slice(1, 3)}
        return sum(1 for e in prof.events() if e.name in operands
                   and all(min(s) >= width for s in e.input_shapes[operands[e.name]]))

    # autograd: 2 forward (x_hat), 2 input gradient, 4 for their weight gradients, and 4 more that carry
    # torch.relu's zero second derivative back through the forward pass; closed form: 2 + 2 + 3
    assert large_products(lambda x: D(x).view(-1)) == 12
    assert large_products(D) == 7


def test_wgan_gp_uses_it_for_a_critic_module_and_autograd_for_a_function():
    v = VARIANTS.get("wgan-gp")(VARIANTS.get("wgan-gp").Hyper(), rng=torch.Generator().manual_seed(0))
    D = critic(3, (2,))
    real, fake, eps = batch((2,))
    calls = []
    closed_form = D.input_gradient
    D.input_gradient = lambda x: calls.append(len(x)) or closed_form(x)
    by_module = v.penalty(D, real, fake, eps)
    assert calls == [len(real)]
    by_function = v.penalty(lambda x: D(x), real, fake, eps)  # as packed runs pass one member's critic
    assert calls == [len(real)]
    assert_close(by_module, by_function, rtol=1e-12, atol=1e-12)


def test_a_packed_member_has_it_with_its_own_weights_under_vmap():
    from torch.func import vmap

    from bench.train.packed import Stacked

    members = [critic(3, (2,)) for _ in range(3)]
    for i, m in enumerate(members):
        torch.manual_seed(10 + i)
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.5)
    D = Stacked(members)
    real, fake, eps = (t.view(3, 8, *t.shape[1:]) for t in batch((2,), n=24))

    def penalty(p, b, r, f, e):
        member = D.member(p, b)
        assert hasattr(member, "input_gradient")
        return gradient_penalty(member, r, f, e)  # through its closed form

    packed = vmap(penalty)(D.params(), D.buffers_by_name(), real, fake, eps)
    packed.sum().backward()
    for i, m in enumerate(members):
        alone = gradient_penalty(lambda x: m(x), real[i], fake[i], eps[i])  # autograd's double backward
        assert_close(packed[i], alone, rtol=1e-12, atol=1e-12)
        grads = torch.autograd.grad(alone, [m.get_parameter(n) for n in D.param_names], allow_unused=True)
        for name, g in zip(D.param_names, grads):
            stacked = D.params()[name].grad
            if g is None or stacked is None:
                assert (g is None or not g.any()) and (stacked is None or not stacked[i].any()), name
            else:
                assert_close(stacked[i], g, rtol=1e-10, atol=1e-12, msg=name)
