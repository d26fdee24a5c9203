"""Step capture: an engine's critic and generator steps run eagerly, compiled, or as CUDA graphs.

An engine (bench.train.engine.Engine, bench.train.packed.PackedEngine: see `Steppable`) offers
`critic_step()` and `generator_step()`. Each draws its inputs on the device from the run's seeded streams, computes the
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

If capture or compilation fails, the run goes on with eager steps (Stepper: `fallback`).
"""

from __future__ import annotations

import sys
from typing import Callable, Protocol

import torch


class Steppable(Protocol):
    """What a Stepper needs of an engine. The two steps draw their inputs from `generators()`, compute
    their losses through the two forwards (which compile mode replaces, on the instance, by compiled
    versions and a fallback removes again), step `optimizers()` and never read the device."""

    device: torch.device
    step: int  # generator steps done (for the fallback's record)
    label: str  # the run (or pack) a message names
    critic_forward: Callable
    generator_forward: Callable

    def critic_step(self) -> None: ...

    def generator_step(self) -> None: ...

    def optimizers(self) -> list[torch.optim.Optimizer]: ...

    def generators(self) -> list[torch.Generator]: ...


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
            if torch.is_tensor(step):  # (fused Adam keeps its counters on the device in either case)
                state["step"] = step.to(p.device if on or group.get("fused") else "cpu", torch.float32)


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
            raise RuntimeError(f"capturing {self.fn.__name__} as a CUDA graph failed (a captured step must not "
                               f"read device values on the host, e.g. .item()): {e}") from e
        self.graph = graph
        graph.replay()  # ... so this is the step's first execution


class Stepper:
    """`critic()` and `generator()`: one step each of an engine, in its resolved mode.

    No run dies of a speed trick: if capturing or compiling a step fails (an operation that cannot
    be captured, a compiler error, running out of memory while capturing), the step is run again
    eagerly and every later step runs eagerly too. The run says so in one line on stderr, and
    `fallback` holds what happened, which the loop records in run.json under `speed`. While a step
    kind is new (its first PROVING calls: warm-up, capture or compilation, first replay), the random
    streams are saved before each call and restored before the eager retry, so the retry draws the
    numbers the failed attempt would have drawn, as an eager run of the same seed does.
    """

    PROVING = 3

    def __init__(self, engine: Steppable, mode: str):
        self.engine, self.mode, self.fallback = engine, mode, None
        self.eager = {"critic": engine.critic_step, "generator": engine.generator_step}
        self.fast = self.eager
        self.proven = {"critic": 0, "generator": 0}
        device = engine.device
        for opt in engine.optimizers():
            set_capturable(opt, mode == "graph")
        if mode == "graph":
            gens = engine.generators()
            self.fast = {"critic": GraphedStep(engine.critic_step, gens, device),
                         "generator": GraphedStep(engine.generator_step, gens, device)}
        elif mode == "compile":
            # reduce-overhead = CUDA graphs of the compiled forward and backward; on the CPU there
            # is no launch overhead to remove, and the default mode fuses elementwise work.
            opts = {"mode": "reduce-overhead"} if device.type == "cuda" else {}
            engine.critic_forward = torch.compile(engine.critic_forward, dynamic=False, **opts)
            engine.generator_forward = torch.compile(engine.generator_forward, dynamic=False, **opts)
            if device.type == "cuda":
                # Each step consumes its compiled outputs before the next one; telling the CUDA-graph
                # trees so lets them reuse the output memory.
                self.fast = {k: _after_mark(fn) for k, fn in self.eager.items()}
            else:
                self.fast = dict(self.eager)  # the same steps, calling the compiled forwards: guarded
        elif mode != "none":
            raise ValueError(f"unknown step mode {mode!r}")

    def critic(self) -> None:
        self._step("critic")

    def generator(self) -> None:
        self._step("generator")

    def _step(self, kind: str) -> None:
        if self.fast is self.eager:  # eager steps (asked for, or after a fallback): nothing to guard
            self.eager[kind]()
            return
        proving = self.proven[kind] < self.PROVING
        gens = self.engine.generators()
        saved = save_streams(gens) if proving else None
        try:
            self.fast[kind]()
        except Exception as exc:  # KeyboardInterrupt and SystemExit (a stop signal) pass through
            if saved is not None:
                restore_streams(gens, saved)
            self._fall_back(kind, exc, restored=saved is not None)
            self.eager[kind]()  # the same step, eagerly: if it fails too, the error is the run's own
            return
        if proving:
            self.proven[kind] += 1

    def _fall_back(self, kind: str, exc: Exception, restored: bool) -> None:
        t = self.engine
        what = {"graph": "CUDA-graph capture", "compile": "torch.compile"}[self.mode]
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300]
        self.fallback = {"from": self.mode, "to": "none", "at_step": t.step, "in": f"{kind} step",
                         "reason": reason,
                         "random_streams": "restored before the eager retry" if restored
                         else "advanced by the failed attempt (it failed after its first calls)"}
        t.__dict__.pop("critic_forward", None)  # torch.compile's wrappers -> the plain methods
        t.__dict__.pop("generator_forward", None)
        for opt in t.optimizers():
            set_capturable(opt, False)
        self.fast, self.mode = self.eager, "none"
        print(f"bench: {t.label}: {what} of the {kind} step failed at step {t.step} ({reason}); "
              f"continuing with eager steps (--compile none) for the rest of the run (run.json: speed.fallback)",
              file=sys.stderr, flush=True)


def save_streams(gens: list[torch.Generator]) -> list:
    """The streams' states (host-side seed and offset: no device sync). A CUDA stream's is a clone of its
    state object: a capture that failed leaves the object it was registered with in capture mode
    ("Offset increment outside graph capture"), so restoring swaps in the clone rather than resetting it."""
    return [g.clone_state() if g.device.type == "cuda" else g.get_state() for g in gens]


def restore_streams(gens: list[torch.Generator], saved: list) -> None:
    for g, state in zip(gens, saved):
        if g.device.type == "cuda":
            g.graphsafe_set_state(state)
        else:
            g.set_state(state)


def _after_mark(fn: Callable[[], None]) -> Callable[[], None]:
    def step() -> None:
        torch.compiler.cudagraph_mark_step_begin()
        fn()

    return step
