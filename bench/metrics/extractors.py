"""Where the feature extractors come from: the data set's classifier (shipped, cached, or trained on
first use) and torch-fidelity's InceptionV3 (from --inception-weights or the torch hub cache, never
downloaded; when absent, the classifier is used and the row says why).
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.metrics.classifier import EXTRACTOR_NAME, file_hash, save_classifier, train_classifier
from bench.metrics.fidelity import INCEPTION, Extractor

SHIPPED = Path(__file__).parent / "weights"  # classifiers shipped with the package (bench classifier)
RECIPE = {"width": 24, "epochs": 12, "batch": 128, "seed": 0, "optimizer": "Adam, OneCycle max_lr 2e-3",
          "augmentation": "random shift by up to 2 pixels"}
_warned: set[str] = set()


def cache_root() -> Path:
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "gan-bench")


def classifier_path(dataset_name: str) -> Path:
    """The shipped file if the package has one for this data set, else the per-user cache file."""
    shipped = SHIPPED / f"{dataset_name}.pt"
    return shipped if shipped.is_file() else cache_root() / "classifiers" / f"{dataset_name}.pt"


def train_and_save(dataset, path: Path, progress: bool = True, device: str = "cpu") -> float:
    """Train the classifier on the data set's training split, score it on the test split, write it."""
    if getattr(dataset, "train_labels", None) is None:
        raise BenchError(f"{dataset.name} has no class labels, so no classifier can be trained for its "
                         "quality metrics; use --extractor inception with --inception-weights PATH")
    dev = torch.device(device)
    with torch.enable_grad():  # first use happens inside the evaluator's no_grad
        model, acc = train_classifier(dataset.train.to(dev), dataset.train_labels.to(dev), dataset.test.to(dev),
                                      dataset.test_labels.to(dev), epochs=RECIPE["epochs"], batch=RECIPE["batch"],
                                      seed=RECIPE["seed"], progress=progress, width=RECIPE["width"])
    save_classifier(model.cpu(), acc, path, {"dataset": dataset.name, "recipe": dict(RECIPE), "trained_on": str(dev),
                                             "train_size": len(dataset.train), "test_size": len(dataset.test)})
    return acc


def classifier_extractor(dataset) -> Extractor:
    """The data set's classifier as an Extractor, trained into the cache on first use. Stacked data
    (bench.data.stacked) uses the classifier of the single-channel data set it stacks, per channel."""
    dataset = getattr(dataset, "channel_source", None) or dataset
    path = classifier_path(dataset.name)
    if not path.is_file():
        print(f"bench: no feature classifier for {dataset.name} yet; training one into {path} (once)", flush=True)
        train_and_save(dataset, path, progress=False)
    return Extractor("classifier", EXTRACTOR_NAME, path, file_hash(path), None)


def inception_weights(path: Path | None) -> Path | None:
    """--inception-weights, else torch-fidelity's file in the torch hub cache, else None."""
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise BenchError(f"--inception-weights {path}: no such file; pass the torch-fidelity "
                             "weights-inception-2015-12-05 .pth file")
        found = Path(path)
    else:
        hub = Path(torch.hub.get_dir()) / "checkpoints"
        hits = sorted(hub.glob("weights-inception-2015-12-05*.pth")) if hub.is_dir() else []
        if not hits:
            return None
        found = hits[0]
    stat = found.stat()
    _check_inception_file(found.resolve(), stat.st_size, stat.st_mtime_ns)
    return found


@functools.lru_cache(maxsize=8)  # once per file version: the evaluator asks at every evaluation step
def _check_inception_file(path: Path, size: int, mtime_ns: int) -> None:
    """Refuse, in one line, a file that is not torch-fidelity's InceptionV3 weights.

    torch-fidelity itself loads the file with torch.load(weights_only=False), which would run any code
    pickled into it; we load it first with weights_only=True, which cannot, so a file that gets past
    this check holds tensors only. Its keys and shapes are then checked by building torch-fidelity's
    InceptionV3 on the meta device (no memory, no arithmetic) from it."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    fix = "pass torch-fidelity's weights-inception-2015-12-05-6726825d.pth file"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (unpickling errors have many types)
        raise BenchError(f"inception weights {path} are not a PyTorch weights file that can be loaded safely "
                         f"({type(exc).__name__}); {fix}") from None
    if not isinstance(state, dict):
        raise BenchError(f"inception weights {path} hold a {type(state).__name__}, not a state dict; {fix}")
    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")  # "copying into a meta parameter is a no-op": that is the point
            tfi.FeatureExtractorInceptionV3(INCEPTION, ["2048"], feature_extractor_weights_path=str(path))
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0] if lines else type(exc).__name__
        detail = detail if len(detail) <= 160 else detail[:157] + "..."
        raise BenchError(f"inception weights {path} are not InceptionV3's ({detail}); {fix}") from None


def choose_extractor(kind: str, dataset, weights: Path | None = None) -> tuple[Extractor, str | None]:
    """(extractor, fallback reason or None). `inception` without weights falls back to the classifier."""
    if kind == "classifier":
        return classifier_extractor(dataset), None
    if kind != "inception":
        raise BenchError(f"--extractor {kind!r}: choose inception or classifier")
    found = inception_weights(weights)
    if found is None:
        reason = (f"no InceptionV3 weights (--inception-weights PATH or {torch.hub.get_dir()}/checkpoints) and "
                  "they cannot be downloaded here; used the data set's classifier instead")
        if reason not in _warned:  # say it once per process
            print(f"bench: warning: {reason}", flush=True)
            _warned.add(reason)
        return classifier_extractor(dataset), reason
    return Extractor("inception", INCEPTION, found, file_hash(found), 3), None
