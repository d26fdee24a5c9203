"""One run's training state, built from its RunConfig: data, seeded random streams, variant, G and D,
their optimizers, the evaluation sets, the step reached and the loss sums since the last evaluation.

A run trains alone as one Member (K = 1) or as one of K members of a pack (bench.train.packed); either
way the Member holds the run's own state, which is what it evaluates and checkpoints, so a checkpoint
written in a pack resumes alone and vice versa.
"""

from __future__ import annotations

from pathlib import Path

import torch

import variants as variant_pkg
from bench.arch import ARCHS
from bench.store.atomic import atomic_target
from bench.config import RunConfig
from bench.data import build_dataset
from bench.speed import resolve_compile, set_tf32

EVAL_BATCH = 1000  # samples per forward pass at evaluation
# Independent seeded streams: data order, latents, randomness inside losses (critic_noise), and for a
# variant whose generator loss needs real data, that data (a stream of its own, so that adding it
# moves no other variant's numbers).
STREAMS = ("data", "z", "loss", "real_g")


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        from bench.errors import BenchError

        raise BenchError("--device cuda, but PyTorch sees no CUDA device; use --device cpu or auto")
    return torch.device(requested)


def build_optimizers(hp, G: torch.nn.Module, D: torch.nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """The variant's optimizer (its Hyper: adam | rmsprop, learning rates, betas) for G and D.

    Adam is PyTorch's fused implementation: the same update in one kernel (CUDA) or one pass per tensor
    (CPU), instead of the default foreach implementation's dozen kernels and temporaries per step; it
    also captures into a CUDA graph (bench.train.capture sets capturable=True)."""
    if hp.optimizer == "rmsprop":
        return torch.optim.RMSprop(G.parameters(), lr=hp.lr_g), torch.optim.RMSprop(D.parameters(), lr=hp.lr_d)
    betas = (hp.beta1, hp.beta2)
    return (torch.optim.Adam(G.parameters(), lr=hp.lr_g, betas=betas, fused=True),
            torch.optim.Adam(D.parameters(), lr=hp.lr_d, betas=betas, fused=True))


class Member:
    """Everything one run trains and is evaluated with. `dataset`: an already built data set for
    cfg.dataset (a pack's members share one); None builds it."""

    def __init__(self, cfg: RunConfig, dataset=None):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        if self.device.type == "cpu":
            # Clipped weights and RMSprop's running averages produce subnormal floats, which x86 CPUs
            # handle ~100x slower; flushing them to zero changes no result that is not ~1e-38.
            torch.set_flush_denormal(True)
        torch.manual_seed(cfg.seed)  # network initialization
        # plan_runs already found (and, with --download, fetched) the files; here they are only read.
        self.dataset = (dataset if dataset is not None else
                        build_dataset(cfg.dataset, data_root=cfg.data_root)).to(self.device)
        cls = variant_pkg.VARIANTS.get(cfg.variant)
        self.streams = {
            name: torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_003 + i)
            for i, name in enumerate(STREAMS, start=1) if name != "real_g" or cls.generator_needs_real
        }
        self.variant = cls(cfg.hyper, rng=self.streams["loss"])
        arch = ARCHS.get(cfg.arch)
        default_norm = arch.critic_norms[0] if arch.critic_norms else None
        self.critic_norm = self.variant.critic_norm_rule.get(default_norm, default_norm) if default_norm else None
        G, D = arch.build(cfg.arch_params, self.dataset.shape, self.variant.critic_kind, self.critic_norm)
        self.G = G.to(self.device)
        self.D = self.variant.prepare_critic(D.to(self.device))  # VARIANT HOOK: e.g. spectral normalization
        self.opt_g, self.opt_d = build_optimizers(self.variant.hp, self.G, self.D)
        s = cfg.schedule
        self.eval_real = self.dataset.heldout(s.n_eval, s.eval_seed).to(self.device)
        bank_rng = torch.Generator().manual_seed(s.eval_seed + 1)
        self.z_bank = torch.randn(s.n_eval, cfg.arch_params.z_dim, generator=bank_rng).to(self.device)
        self.step = 0
        self.train_s = self.eval_s = 0.0
        # Evaluation seconds by part (each metric, "samples": G on the latent bank, "pictures": the sample
        # picture and its data), summed over the run: run.json's timings.eval_split_s.
        self.eval_split: dict[str, float] = {}
        self.picture_steps = cfg.evaluation.picture_steps(cfg.schedule.eval_steps())  # --pictures
        # Loss sums since the last evaluation, on the device (the engine adds into them in place).
        self.acc_d: dict[str, torch.Tensor] = {}
        self.acc_g: dict[str, torch.Tensor] = {}
        self.n_d = self.n_g = 0
        # How the steps run (bench.train.capture, bench.speed): resolved now for run.json, built at the first step.
        set_tf32(self.device, cfg.speed.tf32)
        self.compile_mode, self.compile_why = resolve_compile(cfg.speed.compile, self.device)

    def reset_sums(self) -> None:
        """Zero the loss sums in place, not replaced: a captured step (bench.train.capture) adds into
        these very tensors."""
        for v in [*self.acc_d.values(), *self.acc_g.values()]:
            v.zero_()
        self.n_d = self.n_g = 0

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.arch_params.z_dim, device=self.device, generator=self.streams["z"])

    def real_batch(self, stream: str = "data") -> torch.Tensor:
        return self.dataset.sample(self.cfg.schedule.batch_size, self.streams[stream])

    def fixed_samples(self, n: int):
        """G of n latents from a fixed seed (the same for every run), EVAL_BATCH at a time: for metrics that
        need more samples than the latent bank holds (the stacked-image mode count). Call it inside
        evaluation_mode, as bench.train.evaluate does."""
        rng = torch.Generator().manual_seed(self.cfg.schedule.eval_seed + 2)  # the bank uses eval_seed + 1
        for i in range(0, n, EVAL_BATCH):
            yield self.G(torch.randn(min(EVAL_BATCH, n - i), self.cfg.arch_params.z_dim, generator=rng).to(self.device))

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "step": self.step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "streams": {k: g.get_state() for k, g in self.streams.items()},
            "train_s": self.train_s,
            "eval_s": self.eval_s,
            "eval_split": dict(self.eval_split),
            # Loss sums since the last evaluation: a checkpoint taken between evaluations (a stop
            # request, --ckpt-every) must carry them for the next row to match.
            "acc": {"d": self.acc_d, "g": self.acc_g, "n_d": self.n_d, "n_g": self.n_g},
        }

    def save(self, path: Path) -> None:
        """One checkpoint file (runs use bench.store.checkpoint.Checkpoints: checksums and a fallback)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(path, durable=True) as tmp, open(tmp, "wb") as f:
            torch.save(self.state(), f)

    def load(self, path: Path) -> None:
        self.load_state(torch.load(path, map_location=self.device, weights_only=True))  # cannot run pickled code

    def load_state(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for k, g in self.streams.items():
            g.set_state(state["streams"][k].cpu())
        self.step, self.train_s, self.eval_s = state["step"], state["train_s"], state["eval_s"]
        self.eval_split = dict(state.get("eval_split", {}))  # absent from checkpoints written before it was added
        if "acc" in state:  # absent from checkpoints written before it was added (always at an eval step)
            acc = state["acc"]
            self.acc_d, self.acc_g, self.n_d, self.n_g = acc["d"], acc["g"], acc["n_d"], acc["n_g"]
