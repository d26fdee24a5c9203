"""Step capture: a trainer's critic and generator steps run eagerly, compiled, or as CUDA graphs.

A trainer (bench.runner.Trainer, bench.packed.PackedTrainer) offers `critic_step()` and
`generator_step()`. Each draws its inputs on the device from the run's seeded streams, computes the
variant's loss through `critic_forward` / `generator_forward` (the VARIANT HOOKS), backpropagates,
steps the optimizer, applies the variant's constraint and adds the loss parts into device-side
accumulators in place. Nothing in a step reads a value back to the host, so a step can be:

  none     run as written: the reference the other modes are checked against.
  graph    captured once into a CUDA graph (torch.cuda.graph) and replayed, one launch per step
           instead of hundreds of kernel launches from Python. Everything a step touches stays at
           fixed addresses (parameters, gradients, optimizer state, accumulators); the optimizers
           are switched to capturable=True (their step counters live on the device); the run's
           torch.Generators are registered with the graph, so every replay draws fresh numbers
           from them where an eager step would. The first call of each step runs eagerly (on a
           side stream, as the CUDA-graph documentation asks) and creates the optimizer state; the
           second captures; every call replays. WGAN's varying number of critic steps is a varying
           number of replays of one captured critic step.
  compile  critic_forward and generator_forward go through torch.compile (mode "reduce-overhead"
           on CUDA, which also graphs the compiled pieces); backward and optimizer steps run eagerly.
"""

from __future__ import annotations

from typing import Callable

import torch


def set_capturable(opt: torch.optim.Optimizer, on: bool) -> None:
    """Switch an optimizer's `capturable` flag, with its step counters where that flag needs them
    (on the parameters' device when capturable; on the CPU otherwise, where reading them costs no
    device sync), as Optimizer.load_state_dict places them."""
    if "capturable" not in opt.defaults:
        return  # e.g. SGD without momentum state: nothing to place
    for group in opt.param_groups:
        group["capturable"] = on
        for p in group["params"]:
            state = opt.state.get(p, {})
            step = state.get("step")
            if torch.is_tensor(step):
                state["step"] = step.to(p.device if on else "cpu", torch.float32)


class GraphedStep:
    """Calls `fn` eagerly once (warm-up), then captures it into a CUDA graph and replays it."""

    def __init__(self, fn: Callable[[], None], generators: list[torch.Generator], device: torch.device):
        self.fn, self.generators, self.device = fn, generators, device
        self.graph: torch.cuda.CUDAGraph | None = None
        self.warmed = False

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
            return
        if not self.warmed:  # a real training step, run eagerly; it creates the optimizer state
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                self.fn()
            torch.cuda.current_stream(self.device).wait_stream(side)
            self.warmed = True
            return
        graph = torch.cuda.CUDAGraph()
        for gen in self.generators:  # custom generators must be registered to be used in a capture
            graph.register_generator_state(gen)
        try:
            with torch.cuda.graph(graph):  # records the kernels without running them
                self.fn()
        except RuntimeError as e:  # e.g. a host read (.item(), .cpu()) inside a variant's hook
            raise RuntimeError(f"capturing {self.fn.__name__} as a CUDA graph failed: a step must not read "
                               f"device values on the host; run with --compile none ({e})") from e
        self.graph = graph
        graph.replay()  # ... so this is the step's first execution


class Stepper:
    """`critic()` and `generator()`: one step each, in the trainer's resolved mode."""

    def __init__(self, trainer, mode: str):
        self.mode = mode
        device = trainer.device
        for opt in trainer.optimizers():
            set_capturable(opt, mode == "graph")
        if mode == "graph":
            gens = trainer.generators()
            self.critic = GraphedStep(trainer.critic_step, gens, device)
            self.generator = GraphedStep(trainer.generator_step, gens, device)
            return
        if mode == "compile":
            # reduce-overhead = CUDA graphs of the compiled forward and backward; on the CPU there
            # is no launch overhead to remove, and the default mode fuses elementwise work.
            opts = {"mode": "reduce-overhead"} if device.type == "cuda" else {}
            trainer.critic_forward = torch.compile(trainer.critic_forward, dynamic=False, **opts)
            trainer.generator_forward = torch.compile(trainer.generator_forward, dynamic=False, **opts)
            if device.type == "cuda":
                # Each step consumes its compiled outputs before the next one; telling the CUDA-graph
                # trees so lets them reuse the output memory.
                self.critic = _after_mark(trainer.critic_step)
                self.generator = _after_mark(trainer.generator_step)
                return
        elif mode != "none":
            raise ValueError(f"unknown step mode {mode!r}")
        self.critic = trainer.critic_step
        self.generator = trainer.generator_step


def _after_mark(fn: Callable[[], None]) -> Callable[[], None]:
    def step() -> None:
        torch.compiler.cudagraph_mark_step_begin()
        fn()

    return step
