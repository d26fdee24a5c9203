"""Image sample-quality metrics in a feature space: FID, IS, KID, precision/recall (torch-fidelity)
and Wasserstein estimates that do not come from the training critic (POT), registered for the
image family only.

Both read the generator's samples of the fixed latent bank and the held-out real set (n_eval each:
10,000 in the `standard` schedule, the literature's count as in "Are GANs Created Equal?"; 1,000 in
`quick`, which the row's `fidelity_n_note` says). Every row records the protocol it was made with:
extractor (name:weights hash), n_fake, n_real, ref_split and, if Inception was asked for but absent,
`extractor_fallback` with the reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from bench.metrics.classifier import cached_classifier, features_and_logits, to_uint8
from bench.metrics.extractors import cache_root, choose_extractor
from bench.metrics.features import SLICED_PROJECTIONS, w1_exact_features, w1_sliced
from bench.metrics.fidelity import fidelity_metrics
from bench.metrics.registry import EvalContext, Key, register

LITERATURE_N = 10_000  # "Are GANs Created Equal?" (Lucic et al. 2018): FID on 10k samples
W1_FEAT_POINTS = 2000  # exact W1 in feature space on this many samples per side
# the row keys of the fidelity metric: the measures, then how they were made
FIDELITY_KEYS = (Key("fid", "FID", "lower"), Key("is_mean", "IS", "higher"),
                 Key("is_std", "IS std", None, "uncertainty"), Key("kid_mean", "KID", "lower"), Key("kid_std", "KID std", None, "uncertainty"),
                 Key("precision", "precision", "higher"), Key("recall", "recall", "higher"),
                 Key("extractor", "extractor", None, "info"), Key("n_fake", "generated samples", None, "count"),
                 Key("n_real", "real samples", None, "count"), Key("ref_split", "reference split", None, "info"),
                 Key("fidelity_n_note", "sample-count note", None, "info"),
                 Key("extractor_fallback", "extractor fallback", None, "info"))


def _protocol(ctx: EvalContext, extractor, fallback: str | None, n: int) -> dict:
    row = {"extractor": extractor.describe(), "n_fake": n, "n_real": n, "ref_split": "test",
           "fidelity_n_note": None if n >= LITERATURE_N else
           f"{n} samples, fewer than the literature's {LITERATURE_N}: not comparable to published values"}
    if fallback:
        row["extractor_fallback"] = fallback
    return row


@register(
    "fidelity",
    FIDELITY_KEYS,
    "torch-fidelity calculate_metrics (isc, fid, kid, prc) on G of the fixed latent bank vs the held-out "
    "test images (n_eval each, uint8); feature extractor: the data set's classifier (penultimate features "
    "for FID/KID/PRC, logits for IS; on stacked images the three channels' features side by side and IS over "
    "the 1,000 label triples) unless Inception weights are given; KID subsets of min(1000, n), 100 "
    "subsets; real-set features cached per (data set, split, seed, extractor:hash, n)",
    "FID, IS, KID, precision/recall (torch-fidelity; the data set's classifier or InceptionV3)",
    families=("image",),
    needs=("samples", "classifier"),
)
def fidelity_metric(ctx: EvalContext):
    extractor, fallback = choose_extractor(ctx.extractor, ctx.dataset, ctx.inception_weights)
    n = min(len(ctx.fake), len(ctx.real))
    # the real set's identity is its content: the same held-out images give the same cached statistics
    real_id = hashlib.sha256(to_uint8(ctx.real[:n].cpu()).numpy().tobytes()).hexdigest()[:12]
    name = f"{ctx.dataset.name}-test-n{n}-{extractor.name}-{extractor.weights_hash}-{real_id}"
    out = fidelity_metrics(ctx.fake[:n], ctx.real[:n], extractor, cache_root() / "fidelity", name, ctx.fake.device)
    return {**out, **_protocol(ctx, extractor, fallback, n)}


@torch.no_grad()
def classifier_features(x: torch.Tensor, path: Path, hash_: str, batch: int = 1000) -> np.ndarray:
    model = cached_classifier(str(path), hash_)
    chunks = (features_and_logits(model, x[i:i + batch].float().cpu())[0] for i in range(0, len(x), batch))
    return torch.cat(list(chunks)).double().numpy()


# The held-out real set is the same at every evaluation of a run (and of every run on the data set): its
# features are computed once per process, keyed by the extractor's weights and the images' content.
_REAL_FEATURES: dict[tuple[str, str], np.ndarray] = {}


def real_features(x: torch.Tensor, path: Path, hash_: str) -> np.ndarray:
    key = (hash_, hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest())
    if key not in _REAL_FEATURES:
        if len(_REAL_FEATURES) >= 4:  # a process evaluates one or two data sets: keep it small
            _REAL_FEATURES.clear()
        _REAL_FEATURES[key] = classifier_features(x, path, hash_)
    return _REAL_FEATURES[key]


@register(
    "w1_feat",
    (Key("w1_exact_feat", "W1 exact (features)", "lower"), Key("w1_sliced", "sliced W1", "lower"),
     Key("w1_feat_n", "W1 feature samples", None, "count")),
    f"in the classifier's penultimate feature space (stacked images: the channels' features side by side): "
    f"w1_exact_feat = exact W1 (POT ot.emd2, Euclidean cost) "
    f"between the first min(n_eval, {W1_FEAT_POINTS}) generated and held-out real samples; w1_sliced = "
    f"sliced W1 (POT, p=1, {SLICED_PROJECTIONS} directions, seed 0) on the same points",
    "Exact and sliced W1 between generated and held-out real samples in classifier feature space (POT)",
    families=("image",),
    needs=("samples", "classifier"),
)
def w1_feat_metric(ctx: EvalContext):
    extractor, _ = choose_extractor("classifier", ctx.dataset)
    n = min(len(ctx.fake), len(ctx.real), W1_FEAT_POINTS)
    f = classifier_features(ctx.fake[:n], extractor.weights_path, extractor.weights_hash)
    r = real_features(ctx.real[:n], extractor.weights_path, extractor.weights_hash)
    return {"w1_exact_feat": w1_exact_features(f, r), "w1_sliced": w1_sliced(f, r), "w1_feat_n": n}
