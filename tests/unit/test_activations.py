"""The MLP critic's ReLU: stock values and derivatives (first and second order), less work."""

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from bench.arch import activations
from variants.losses import gradient_penalty


def critic(act: type[nn.Module]) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 1))


def penalty_step(D: nn.Module, real, fake, eps):
    """WGAN-GP's critic loss with its double backward, the penalty as the variant computes it;
    returns the loss and the weights' gradients."""
    critic = lambda x: D(x).view(-1)  # noqa: E731
    loss = D(fake).mean() - D(real).mean() + 10 * gradient_penalty(critic, real, fake, eps)
    D.zero_grad()
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in D.parameters()]


def batch(n=64):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g), torch.rand(n, generator=g)


def test_same_numbers_as_stock_including_the_penalty_double_backward():
    D_stock, D_lean = critic(nn.ReLU), critic(activations.ReLU)
    D_lean.load_state_dict(D_stock.state_dict())
    real, fake, eps = batch()
    loss_s, grads_s = penalty_step(D_stock, real, fake, eps)
    loss_l, grads_l = penalty_step(D_lean, real, fake, eps)
    assert torch.equal(loss_s, loss_l)
    for a, b in zip(grads_s, grads_l):
        assert torch.equal(a, b)


def test_values_and_derivatives_match_torch_relu():
    x = torch.tensor([-float("inf"), -2.0, -0.0, 0.0, 1e-30, 3.0, float("inf"), float("nan")], requires_grad=True)
    (gl,) = torch.autograd.grad(activations.relu(x).sum(), x)
    (gs,) = torch.autograd.grad(torch.relu(x).sum(), x)
    assert torch.equal(activations.relu(x).isnan(), torch.relu(x).isnan())
    assert torch.equal(activations.relu(x).nan_to_num(), torch.relu(x).nan_to_num())
    nonzero = x != 0  # the derivative at exactly 0 is 1 here, 0 in torch (both subgradients)
    nonzero[-1] = False  # at NaN the loss is NaN whatever the derivative
    assert torch.equal(gl[nonzero], gs[nonzero])


def count_matmuls(D, real, fake, eps) -> int:
    from torch.profiler import profile

    with profile() as prof:
        penalty_step(D, real, fake, eps)
    return sum(e.count for e in prof.key_averages() if e.key in ("aten::mm", "aten::addmm"))


def test_the_penalty_does_no_matrix_products_on_zeros():
    D_stock, D_lean = critic(nn.ReLU), critic(activations.ReLU)
    real, fake, eps = batch()
    # stock: the zeros from each of the 2 hidden ReLUs go back through the layer below it as a weight
    # gradient and (but for the first layer, whose input needs none) an input gradient: 3 products
    assert count_matmuls(D_stock, real, fake, eps) - count_matmuls(D_lean, real, fake, eps) == 3


def test_works_under_vmap_as_packed_runs_call_it():
    members = [critic(activations.ReLU) for _ in range(3)]
    for i, m in enumerate(members[1:], 1):
        torch.manual_seed(i)
        for p in m.parameters():
            nn.init.normal_(p)
    params, buffers = stack_module_state(members)
    params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    base = copy.deepcopy(members[0]).to("meta")
    real, fake, eps = (t.view(3, 8, *t.shape[1:]) for t in batch(24))

    def penalty(p, b, r, f, e):
        return gradient_penalty(lambda x: functional_call(base, (p, b), (x,)).view(-1), r, f, e)

    packed = vmap(penalty)(params, buffers, real, fake, eps)
    packed.sum().backward()  # the double backward through the vmapped penalty
    for i, m in enumerate(members):
        alone = gradient_penalty(lambda x: m(x).view(-1), real[i], fake[i], eps[i])
        alone.backward()
        torch.testing.assert_close(packed[i], alone)
        for name, p in m.named_parameters():
            if p.grad is None:  # the output bias: the penalty does not depend on it
                assert params[name].grad is None, name
            else:
                torch.testing.assert_close(params[name].grad[i], p.grad)


def test_the_benchmarks_plain_loop_gets_the_same_critic_with_stock_activations():
    import bench.arch  # noqa: F401  (registers the archs)
    from bench.arch.registry import ARCHS
    from benchmarks.plain_wgan_gp import with_stock_activations

    shape = (2,)
    arch_ = ARCHS.get("mlp")
    _, D = arch_.build(arch_.Params(width=8, z_dim=4), shape, "scalar", None)
    stock = with_stock_activations(D)
    kinds = {type(m) for m in stock.modules()}
    assert activations.ReLU not in kinds and nn.ReLU in kinds
    x = torch.randn(5, *shape)
    assert torch.equal(stock(x), D(x))
