"""`bench classifier`: train the data set's feature classifier used by the quality metrics."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("classifier")
@click.option("--dataset", required=True, metavar="NAME", help="Image data set with class labels, e.g. fashion-mnist.")
@click.option("--data-root", type=click.Path(path_type=Path), metavar="DIR",
              show_default="$BENCH_DATA, then system folders", help="Where the data set is looked for.")
@click.option("--out", type=click.Path(path_type=Path), metavar="FILE",
              help="Where to write it [default: the file the metrics use, see `bench classifier --help`].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Training device; auto picks CUDA when PyTorch sees one.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar while it trains.")
def classifier_cmd(dataset, data_root, out, device, progress):
    """Train the small CNN on the training split, report its test accuracy and write it.

    The metrics read bench/metrics/weights/<dataset>.pt when the package ships one (Fashion-MNIST),
    else $BENCH_CACHE/classifiers/<dataset>.pt (default ~/.cache/gan-bench), trained there on first use.
    """
    from bench.data import build_dataset
    from bench.errors import BenchError
    from bench.metrics.extractors import classifier_path, train_and_save
    from bench.metrics.classifier import file_hash
    from bench.train.member import resolve_device

    data = build_dataset(dataset, data_root=data_root)
    if data.family != "image":
        raise BenchError(f"--dataset {dataset}: the feature classifier is for image data sets")
    path = out or classifier_path(data.name)
    acc = train_and_save(data, path, progress=progress, device=str(resolve_device(device)))
    click.echo(f"{data.name}: test accuracy {acc:.4f}; wrote {path} (sha256 {file_hash(path)})")
