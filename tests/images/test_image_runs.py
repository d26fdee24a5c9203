"""`bench run` end to end on a tiny Fashion-MNIST fixture, once per image architecture: the run
finishes, records its data source and critic normalization, writes pixel-space W1 and one sample
grid per evaluation step."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from tests.conftest import run_cli

# One variant per architecture, so that every critic kind and normalization rule runs end to end.
CASES = [("mlp", "wgan", "none"), ("dcgan", "wgan-gp", "layer"), ("dcgan-nobn", "ebgan", "batch"),
         ("resnet", "sngan", "none")]


@pytest.mark.parametrize("arch,variant,norm", CASES)
def test_bench_run_on_images(arch, variant, norm, fashion_root, tmp_path, monkeypatch):
    sets = ["--set", "width=8" if arch != "mlp" else "width=32"]
    if variant == "wgan":
        sets += ["--set", "warmup_gen_steps=0", "--set", "burst_every=1000"]
    args = ["run", "--variants", variant, "--arch", arch, "--dataset", "fashion-mnist",
            "--data-root", str(fashion_root), "--steps", "2", "--evals", "2", "--batch-size", "4",
            "--n-eval", "12", "--device", "cpu", "--results", str(tmp_path / "res"), "--name", "t",
            "--no-progress", *sets]
    if arch == "dcgan":  # one of them through a real `python -m bench` process
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
    else:  # the others in-process (the same CLI code, without paying the imports again)
        from bench.cli import main

        monkeypatch.delenv("BENCH_DATA", raising=False)
        torch.set_num_threads(1)
        main(args)
    (run_dir,) = (tmp_path / "res" / "t").iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "done"
    assert record["critic_norm"] == (None if norm == "none" and arch == "mlp" else norm)
    assert record["data"]["root"] == str(fashion_root) and record["data"]["found_via"] == "--data-root"
    assert record["data"]["shape"] == [1, 32, 32]
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        assert r["w1_exact_space"] == "pixel" and r["w1_exact"] > 0 and r["critic_gap"] is not None
    grids = sorted(p.name for p in (run_dir / "samples").iterdir())
    assert grids == ["step_0000001.png", "step_0000002.png"]
    with Image.open(run_dir / "samples" / "step_0000002.png") as im:
        # 12 samples of the latent bank (fewer than 64), 8 per row, 32 px + 2 px padding each
        assert im.size == (8 * 34 + 2, 2 * 34 + 2)
