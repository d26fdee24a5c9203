"""The packed engine (`--pack K`): K runs of one config that differ only in seed, stepped as one.

The K members' parameters and buffers are stacked on a new leading axis
(torch.func.stack_module_state), and each step evaluates the variant's own losses once per member
under torch.func.vmap with torch.func.functional_call: the members' matmuls become batched matmuls,
one kernel for K runs. Everything else stays per member and exactly as it would be alone:

- each member is an ordinary bench.train.member.Member, built from its own seed (initialization,
  spectral-norm vectors, the data / latent / loss streams), so its random numbers are the ones it
  would draw alone: every batch, latent and gradient-penalty eps is drawn from the member's own
  streams and stacked;
- losses are per member (vmap) and their sum is backpropagated, so each member gets its own gradient;
  Adam and RMSprop are elementwise, so one optimizer over the stacked parameters is K optimizers;
  spectral norm's power iteration runs on each member's own vectors; the variant's after_critic_step
  runs once per member, on a module whose parameters are that member's slices (MemberViews);
- `sync()` copies the stacked state back into the members, which the loop (bench.train.loop)
  evaluates and checkpoints exactly as runs alone. A member's checkpoint resumes alone, and vice versa.

The results agree with the same seeds run one by one within float tolerance (batched and single
matmuls round differently), which tests/unit/test_variant_contract.py checks for every variant.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from bench.errors import BenchError
from bench.train.capture import set_capturable
from bench.train.engine import Steps, accumulate, critic_loss, generator_loss, scores_samples_independently
from bench.train.member import Member, build_optimizers
from variants.base import LossOut, Variant


class Stacked(nn.Module):
    """K modules of one architecture as one: every parameter and buffer stacked on a leading axis.

    `parameters()` yields the stacked parameters (so an optimizer over them treats each member's
    entries as that member's own); `member(p, b)` is one member's forward, for use inside vmap.
    """

    def __init__(self, modules: list[nn.Module]):
        super().__init__()
        params, buffers = stack_module_state(modules)
        self.param_names, self.buffer_names = list(params), list(buffers)
        for name, p in params.items():
            self.register_parameter(_key(name), nn.Parameter(p.detach().clone()))
        for name, b in buffers.items():
            self.register_buffer(_key(name), b.detach().clone())
        # The structure to call with each member's tensors (kept out of this module's parameters),
        # and its closed-form input gradient as a module, where it has one (see Functional).
        base = copy.deepcopy(modules[0]).to("meta")
        self._base = [base, _InputGradient(base) if hasattr(base, "input_gradient") else None]

    def params(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, _key(n)) for n in self.param_names}

    def buffers_by_name(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, _key(n)) for n in self.buffer_names}

    def member(self, params: dict, buffers: dict) -> "Functional":
        """One member's module as a function (its tensors: slices of the stacked ones, inside vmap)."""
        return Functional(*self._base, params, buffers)

    def forward(self, x: torch.Tensor):
        """[K, N, ...] -> each member applied to its own slice."""
        return vmap(lambda p, b, xi: self.member(p, b)(xi))(self.params(), self.buffers_by_name(), x)

    @torch.no_grad()
    def copy_into(self, k: int, module: nn.Module) -> None:
        """Member k's current parameters and buffers -> `module` (a member's own copy)."""
        own = dict(module.named_parameters())
        for n in self.param_names:
            own[n].copy_(getattr(self, _key(n))[k])
        own_b = dict(module.named_buffers())
        for n in self.buffer_names:
            own_b[n].copy_(getattr(self, _key(n))[k])


class Functional:
    """One member's module, called with its own tensors (functional_call). Where the module has its
    input gradient in closed form (bench.arch.mlp.VectorCritic.input_gradient, which
    variants.losses.input_gradient uses in place of a double backward), so does the member, with its
    own weights."""

    def __init__(self, base: nn.Module, input_gradient: nn.Module | None, params: dict, buffers: dict):
        self.base, self.tensors = base, (params, buffers)
        if input_gradient is not None:
            prefixed = tuple({f"of.{k}": v for k, v in t.items()} for t in self.tensors)
            self.input_gradient = lambda x: functional_call(input_gradient, prefixed, (x,))

    def __call__(self, *args):
        return functional_call(self.base, self.tensors, args)


class _InputGradient(nn.Module):
    """A module's input_gradient as a forward, which is what functional_call calls."""

    def __init__(self, of: nn.Module):
        super().__init__()
        self.of = of

    def forward(self, x):
        return self.of.input_gradient(x)


def _key(name: str) -> str:
    return name.replace(".", "__")  # attribute names cannot contain dots


class MemberViews:
    """For each member, a copy of its module whose parameters and buffers share memory with its slices
    of the stacked ones: a variant's after_critic_step on view k changes member k's weights in place,
    exactly as it would change the weights of the run alone (a per-layer rule included)."""

    def __init__(self, stacked: Stacked, modules: list[nn.Module]):
        self.views = []
        for k, like in enumerate(modules):
            view = copy.deepcopy(like)
            for name, t in [*stacked.params().items(), *stacked.buffers_by_name().items()]:
                owner, _, leaf = name.rpartition(".")
                holder = view.get_submodule(owner)
                slot = holder._parameters if leaf in holder._parameters else holder._buffers
                shared = t.detach()[k]
                slot[leaf] = nn.Parameter(shared, requires_grad=False) if slot is holder._parameters else shared
            self.views.append(view)
        self.addresses = [[p.data_ptr() for p in v.parameters()] for v in self.views]

    def apply(self, hook, variant_name: str) -> None:
        for view, addresses in zip(self.views, self.addresses):
            hook(view)  # VARIANT HOOK, per member
            if [p.data_ptr() for p in view.parameters()] != addresses:
                raise BenchError(f"variant {variant_name!r}: after_critic_step rebound a parameter (p.data = ...) "
                                 f"instead of changing it in place (p.copy_(...)), which a packed run cannot "
                                 f"follow; change it in place, or run without --pack")


def _flat_params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in opt.param_groups for p in g["params"]]


def _is_per_element(v, like: torch.Tensor) -> bool:
    """Optimizer state shaped like its parameter (Adam's moments, RMSprop's averages), as opposed to
    scalars shared by all elements (the step count, the same for every member of a pack)."""
    return torch.is_tensor(v) and v.shape == like.shape


def stack_optimizer_state(stacked: torch.optim.Optimizer, members: list[torch.optim.Optimizer]) -> None:
    """Resumed members' optimizer states -> the stacked optimizer's."""
    member_params = [_flat_params(o) for o in members]
    for j, p in enumerate(_flat_params(stacked)):
        states = [o.state.get(ps[j]) for o, ps in zip(members, member_params)]
        if not any(states):
            continue
        ref, like = states[0], member_params[0][j]
        stacked.state[p] = {k: torch.stack([s[k] for s in states]) if _is_per_element(v, like) else copy.deepcopy(v)
                            for k, v in ref.items()}


def unstack_optimizer_state(stacked: torch.optim.Optimizer, k: int, member: torch.optim.Optimizer) -> None:
    """Member k's slice of the stacked optimizer state -> its own optimizer (for its checkpoint)."""
    for p, own in zip(_flat_params(stacked), _flat_params(member)):
        if p in stacked.state:
            member.state[own] = {n: v[k].clone() if torch.is_tensor(v) and v.shape == p.shape else
                                 (v.clone() if torch.is_tensor(v) else v) for n, v in stacked.state[p].items()}
    set_capturable(member, False)  # as a single run's eager optimizer keeps it (step count on the host)


class PackedEngine(Steps):
    """The steps of K members (same config, different seeds) as one, on [K, ...] tensors."""

    def __init__(self, members: list[Member]):
        super().__init__(members)
        self.G = Stacked([m.G for m in members])
        self.D = Stacked([m.D for m in members])
        self.opt_g, self.opt_d = build_optimizers(self.variant.hp, self.G, self.D)
        stack_optimizer_state(self.opt_g, [m.opt_g for m in members])
        stack_optimizer_state(self.opt_d, [m.opt_d for m in members])
        # loss sums carried over from a resumed checkpoint (all members hold the same keys)
        self.acc_d = {k: torch.stack([m.acc_d[k] for m in members]) for k in members[0].acc_d}
        self.acc_g = {k: torch.stack([m.acc_g[k] for m in members]) for k in members[0].acc_g}
        # joint scoring as the run alone decides it (bench.train.engine.Engine), so the numbers agree
        self.joint = self.variant.scores_both_batches() and scores_samples_independently(members[0].D)
        constrained = type(self.variant).after_critic_step is not Variant.after_critic_step
        self.views = MemberViews(self.D, [m.D for m in members]) if constrained else None

    def _stack(self, draw) -> torch.Tensor:
        return torch.stack([draw(m) for m in self.members])

    def critic_step(self) -> None:
        real = self._stack(lambda m: m.real_batch())
        noise = [m.variant.critic_noise(real[i]) for i, m in enumerate(self.members)]  # each from its own stream
        out = self.critic_forward(real, self._stack(lambda m: m.latents(self.cfg.schedule.batch_size)),
                                  None if noise[0] is None else torch.stack(noise))
        self.opt_d.zero_grad(set_to_none=True)
        out.total.sum().backward()  # members' losses are independent: each gets its own gradient
        self.opt_d.step()
        if self.views is not None:
            self.views.apply(self.variant.after_critic_step, self.variant.name)
        accumulate(self.acc_d, out.parts)

    def critic_forward(self, real: torch.Tensor, z: torch.Tensor, noise: torch.Tensor | None) -> LossOut:
        G, D, variant, joint = self.G, self.D, self.variant, self.joint

        def member(pg, bg, pd, bd, real, z, noise):
            with torch.no_grad():
                fake = G.member(pg, bg)(z)
            return critic_loss(variant, D.member(pd, bd), real, fake, noise, joint)  # per member

        in_dims = (0, 0, 0, 0, 0, 0, None if noise is None else 0)
        return vmap(member, in_dims=in_dims)(G.params(), G.buffers_by_name(), D.params(), D.buffers_by_name(),
                                             real, z, noise)

    def generator_step(self) -> None:
        self.D.requires_grad_(False)
        z = self._stack(lambda m: m.latents(self.cfg.schedule.batch_size))
        real = self._stack(lambda m: m.real_batch("real_g")) if self.variant.generator_needs_real else None
        out = self.generator_forward(z, real)
        self.opt_g.zero_grad(set_to_none=True)
        out.total.sum().backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        accumulate(self.acc_g, out.parts)

    def generator_forward(self, z: torch.Tensor, real: torch.Tensor | None = None) -> LossOut:
        G, D, variant = self.G, self.D, self.variant

        def member(pg, bg, pd, bd, z, real):
            return generator_loss(variant, D.member(pd, bd), G.member(pg, bg)(z), real)  # per member

        in_dims = (0, 0, 0, 0, 0, None if real is None else 0)
        return vmap(member, in_dims=in_dims)(G.params(), G.buffers_by_name(), D.params(), D.buffers_by_name(), z, real)

    def reset_sums(self) -> None:
        super().reset_sums()
        for v in [*self.acc_d.values(), *self.acc_g.values()]:
            v.zero_()  # in place, as a member's (a captured step adds into them)

    @torch.no_grad()
    def sync(self) -> None:
        """Copy each member's slice of everything back into it (to evaluate and checkpoint it)."""
        super().sync()
        for k, m in enumerate(self.members):
            self.G.copy_into(k, m.G)
            self.D.copy_into(k, m.D)
            unstack_optimizer_state(self.opt_g, k, m.opt_g)
            unstack_optimizer_state(self.opt_d, k, m.opt_d)
            m.acc_d = {n: v[k].clone() for n, v in self.acc_d.items()}
            m.acc_g = {n: v[k].clone() for n, v in self.acc_g.items()}

