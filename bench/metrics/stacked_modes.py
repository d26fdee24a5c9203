"""Mode coverage on stacked images (Stacked MNIST: Metz et al. 2017; Srivastava et al. 2017, VEEGAN,
Sec. 5.2; Lin et al. 2018, PacGAN, Sec. 5), for stacked-fashion-mnist (bench.data.stacked).

Each generated image is classified channel by channel with the classifier of the single-channel
data set it stacks; its mode is the label triple (l1, l2, l3), one of K^3 = 1,000. On n_modes
generated samples (26,000 in the standard protocol, as in VEEGAN and PacGAN; fewer in quick, and
the row's `modes_n` says how many):

    modes     the number of distinct modes among them ("modes captured", of 1,000; the toy metric's
              `modes` key means the same thing for mixtures, bench.metrics.toy)
    modes_kl  KL(p || uniform) = sum_m p_m log(p_m * 1000), p the samples' mode histogram:
              0 when every mode is equally frequent, log(1000) = 6.91 when all samples share one mode
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import torch

from bench.metrics.classifier import cached_classifier, channel_labels
from bench.metrics.extractors import classifier_extractor
from bench.metrics.registry import EvalContext, Key, Missing, register


def mode_ids(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[N, C] per-channel labels -> [N] mode ids, the first channel most significant (l1 * K^2 + l2 * K + l3)."""
    weights = num_classes ** torch.arange(labels.shape[1] - 1, -1, -1, device=labels.device)
    return (labels * weights).sum(1)


def mode_histogram(ids: torch.Tensor, n_modes: int) -> np.ndarray:
    """[N] mode ids -> counts per mode, [n_modes]."""
    return torch.bincount(ids.cpu(), minlength=n_modes).numpy()


def kl_to_uniform(counts: np.ndarray) -> float:
    """KL(counts / sum || uniform over len(counts)) in nats (scipy.stats.entropy normalizes both)."""
    return float(scipy.stats.entropy(counts, np.ones(len(counts))))


def modes_captured(counts: np.ndarray) -> int:
    return int((counts > 0).sum())


@register(
    "stacked_modes",
    (Key("modes", "modes", "higher"), Key("modes_kl", "modes KL", "lower"),
     Key("modes_n", "mode-count samples", None, "count")),
    "stacked images only: G of n_modes latents from a fixed seed (eval_seed + 2; 26,000 in the standard "
    "protocol as in VEEGAN/PacGAN, fewer in quick; modes_n says how many), each channel labelled by the "
    "single-channel data set's classifier; modes = modes captured = distinct label triples (of 1,000); "
    "modes_kl = KL(mode histogram || uniform over the 1,000), nats",
    "Stacked images: modes captured (label triples, of 1,000) and KL of the mode histogram to uniform",
    families=("image",),
    needs=("samples", "classifier", "generator"),
)
def stacked_modes_metric(ctx: EvalContext):
    source = getattr(ctx.dataset, "channel_source", None)
    if source is None:
        return Missing(f"{ctx.dataset.name} is not stacked data; modes are counted on stacked-fashion-mnist")
    if ctx.sample is None:
        return Missing("no generator to draw the mode-count samples from")
    extractor = classifier_extractor(ctx.dataset)
    model = cached_classifier(str(extractor.weights_path), extractor.weights_hash)
    num_classes, channels = model.num_classes, ctx.dataset.shape[0]
    ids = torch.cat([mode_ids(channel_labels(model, x.float().cpu()), num_classes) for x in ctx.sample(ctx.n_modes)])
    counts = mode_histogram(ids, num_classes ** channels)
    return {"modes": modes_captured(counts), "modes_kl": kl_to_uniform(counts), "modes_n": len(ids)}
