"""Every bad input of issue 8, through the command line: one line naming the problem and the fix, exit
code 2, and nothing written (the whole test folder is compared before and after)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from bench.arch import ARCHS
from bench.arch.mlp import Mlp
from tests.images.files import write_mnist_like

TOY = ["--arch", "mlp", "--steps", "2", "--evals", "1", "--batch-size", "8", "--no-progress"]


class ScalarOnlyMlp(Mlp):
    """Test-only: an arch without an autoencoder critic (as a third-party arch might be)."""

    name = "scalar-only"
    critic_kinds = ("scalar",)


def register_scalar_only(monkeypatch):
    monkeypatch.setitem(ARCHS._entries, ScalarOnlyMlp.name, ScalarOnlyMlp())
    monkeypatch.setitem(ARCHS._about, ScalarOnlyMlp.name, "test-only")


def hide_system_data(monkeypatch, tmp: Path):
    import bench.data.fashion_mnist as fm

    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp / "no-system-copy")
    monkeypatch.delenv("BENCH_DATA", raising=False)


def fashion_with(tmp: Path, monkeypatch, damage) -> Path:
    hide_system_data(monkeypatch, tmp)
    write_mnist_like(tmp / "fm", 40, 12, gz=False)
    damage(tmp / "fm" / "t10k-images-idx3-ubyte")
    return tmp / "fm"


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def bad_magic(path: Path) -> None:
    path.write_bytes(b"\x1f\x8b not idx" + path.read_bytes()[10:])


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def inception_file(tmp: Path, kind: str) -> Path:
    path = tmp / f"inception-{kind}.pth"
    if kind == "garbage":
        path.write_bytes(b"these are not weights")
    elif kind == "code":
        torch.save({"fc.weight": RunsCode(tmp / "pwned")}, path)
    elif kind == "wrong-shape":  # every key of InceptionV3, every tensor of the wrong shape
        import torch_fidelity.feature_extractor_inceptionv3 as tfi

        from bench.metrics.fidelity import INCEPTION

        with pytest.MonkeyPatch.context() as m, torch.device("meta"):
            m.setattr(tfi, "load_state_dict_from_url", lambda *a, **k: {})
            m.setattr(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
            keys = list(tfi.FeatureExtractorInceptionV3(INCEPTION, ["2048"]).state_dict())
        torch.save({k: torch.zeros(1) for k in keys}, path)
    return path


def no_cuda(monkeypatch) -> None:
    """As on a machine without CUDA (this test machine may have one)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def sweep_file(tmp: Path, text: str) -> Path:
    path = tmp / "sweep.yaml"
    path.write_text(text)
    return path


EVAL = ["--metrics", "fidelity", "--extractor", "inception", "--inception-weights"]

# id: (args given (inputs folder, results folder, monkeypatch), the text the one line must contain)
CASES = {
    "unknown variant": (lambda t, r, m: ["run", "--variants", "wgan,nope", *TOY, "--results", r],
                        "unknown variant 'nope'; choose one of: ebgan, gan, lsgan, r1, ragan, sngan, wgan, wgan-gp, wgan-lp"),
    "unknown arch": (lambda t, r, m: ["run", "--variants", "gan", "--arch", "transformer", "--results", r],
                     "unknown arch 'transformer'; choose one of: mlp, dcgan, dcgan-nobn, resnet"),
    "unknown data set": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--dataset", "imagenet", "--results", r],
                         "unknown dataset 'imagenet'"),
    "unknown metric": (lambda t, r, m: ["eval", f"{r}/some-run", "--metrics", "fid50k"],
                       "unknown metric 'fid50k'; choose one of:"),
    "unknown profile": (lambda t, r, m: ["sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians",
                                         "--seeds", "0", "--name", "s", "--executor", "local", "--profile", "nope",
                                         "--results", r],
                        "no slurm/profiles/nope.yaml; choose one of:"),
    "unknown schedule": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--schedule", "slow", "--results", r],
                         "Invalid value for '--schedule'"),
    "--set key no variant or arch has": (
        lambda t, r, m: ["run", "--variants", "gan", *TOY, "--set", "clip=0.1", "--results", r],
        "--set clip: no variant (gan) or arch (mlp) given has this setting; valid keys:"),
    "--set malformed": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--set", "clip", "--results", r],
                        "malformed --set 'clip': expected KEY=VALUE"),
    "--set wrong type": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--set", "width=wide", "--results", r],
                         "--set width=wide: arch mlp's width takes a int"),
    "--steps 0": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--steps", "0", "--results", r],
                  "--steps 0: must be >= 1"),
    "--batch-size -1": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--batch-size", "-1", "--results", r],
                        "--batch-size -1: must be >= 2"),
    "--evals 0": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--evals", "0", "--results", r],
                  "--evals 0: must be >= 1"),
    "lr=0": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--set", "lr_g=0", "--results", r],
             "lr_g=0.0: must be > 0"),
    "clip=-1": (lambda t, r, m: ["run", "--variants", "wgan", *TOY, "--set", "clip=-1", "--results", r],
                "clip=-1.0: must be > 0"),
    "--seeds 3-1": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--seeds", "3-1", "--results", r],
                    "malformed --seeds '3-1'"),
    "--ckpt-every -1": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--ckpt-every", "-1", "--results", r],
                        "--ckpt-every -1: must be >= 0"),
    "--ckpt-every-s -1": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--ckpt-every-s", "-1", "--results", r],
                          "--ckpt-every-s -1.0: must be >= 0"),
    "variant x arch that cannot work": (
        lambda t, r, m: register_scalar_only(m) or ["run", "--variants", "gan,ebgan", "--arch", "scalar-only",
                                                    "--steps", "2", "--results", r],
        "variant 'ebgan' needs an autoencoder critic, which arch 'scalar-only' does not build (it builds: scalar); "
        "choose an arch that does: mlp"),
    "arch x data that cannot work": (
        lambda t, r, m: ["run", "--variants", "gan", "--arch", "dcgan", "--results", r],
        "arch 'dcgan' does not support toy data (8gaussians); choose an arch for toy data: mlp"),
    "malformed YAML sweep": (lambda t, r, m: ["sweep", str(sweep_file(t, "variants: [gan\n")), "--results", r],
                             "not valid YAML"),
    "unsafe YAML sweep": (
        lambda t, r, m: ["sweep", str(sweep_file(t, f"variants: !!python/object/apply:os.system ['touch {t}/pwned']\n"
                                                    "archs: [mlp]\ndatasets: [8gaussians]\nseeds: 0\n")),
                         "--executor", "debug", "--results", r],
        "not valid YAML"),
    "sweep key that does not exist": (
        lambda t, r, m: ["sweep", str(sweep_file(t, "variants: [gan]\narchs: [mlp]\ndatasets: [8gaussians]\n"
                                                    "seeds: 0\ngpus: 1\n")), "--executor", "debug", "--results", r],
        "unknown key 'gpus'; valid keys:"),
    "missing sweep file": (lambda t, r, m: ["sweep", f"{t}/nope.yaml", "--results", r], "sweep file"),
    "missing data root": (
        lambda t, r, m: hide_system_data(m, t) or ["run", "--variants", "gan", "--arch", "dcgan", "--dataset",
                                                   "fashion-mnist", "--data-root", f"{t}/nowhere", "--results", r],
        "--data-root {t}/nowhere is not a directory; create it, or pass the folder that holds the data"),
    "data root without the data set": (
        lambda t, r, m: hide_system_data(m, t) or ["run", "--variants", "gan", "--arch", "dcgan", "--dataset",
                                                   "fashion-mnist", "--data-root", str(t), "--results", r],
        "apt-get install dataset-fashion-mnist"),
    "truncated IDX file": (
        lambda t, r, m: ["run", "--variants", "gan", "--arch", "dcgan", "--dataset", "fashion-mnist",
                         "--data-root", str(fashion_with(t, m, truncate)), "--results", r],
        "t10k-images-idx3-ubyte is truncated"),
    "corrupt IDX file": (
        lambda t, r, m: ["run", "--variants", "gan", "--arch", "dcgan", "--dataset", "fashion-mnist",
                         "--data-root", str(fashion_with(t, m, bad_magic)), "--results", r],
        "t10k-images-idx3-ubyte is not an IDX file (bad header)"),
    "missing Inception weights file": (lambda t, r, m: ["eval", f"{r}/run", *EVAL, f"{t}/nope.pth"],
                                       "nope.pth: no such file; pass the torch-fidelity"),
    "wrong-shaped Inception weights file": (
        lambda t, r, m: ["eval", f"{r}/run", *EVAL, str(inception_file(t, "wrong-shape"))],
        "are not InceptionV3's (size mismatch for Conv2d_1a_3x3.conv.weight"),
    "Inception weights that are not weights": (
        lambda t, r, m: ["eval", f"{r}/run", *EVAL, str(inception_file(t, "garbage"))],
        "are not a PyTorch weights file that can be loaded safely"),
    "Inception weights that would run code": (
        lambda t, r, m: ["eval", f"{r}/run", *EVAL, str(inception_file(t, "code"))],
        "are not a PyTorch weights file that can be loaded safely (UnpicklingError)"),
    "results path that is a file": (
        lambda t, r, m: (t / "file").write_text("x") and ["run", "--variants", "gan", *TOY, "--results", f"{t}/file"],
        "is a file, not a directory; pass --results DIR with a directory"),
    "--evals more than --steps": (
        lambda t, r, m: ["run", "--variants", "gan", *TOY, "--steps", "3", "--evals", "5", "--results", r],
        "--evals 5 exceeds --steps 3: a run evaluates at most once per generator step; pass --evals 3 or fewer"),
    "--steps fewer than the schedule's evaluations": (
        lambda t, r, m: ["run", "--variants", "gan", "--arch", "mlp", "--steps", "2", "--results", r],
        "--steps 2 is fewer than the quick schedule's 3 evaluations"),
    "sweep with --evals more than --steps": (
        lambda t, r, m: ["sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--seeds", "0",
                         "--steps", "2", "--evals", "4", "--name", "s", "--executor", "debug", "--results", r],
        "--evals 4 exceeds --steps 2"),
    "sweep file with evals more than steps": (
        lambda t, r, m: ["sweep", str(sweep_file(t, "variants: [gan]\narchs: [mlp]\ndatasets: [8gaussians]\n"
                                                    "seeds: 0\nsteps: 2\nevals: 9\n")), "--executor", "local",
                         "--results", r],
        "--evals 9 exceeds --steps 2"),
    "--device cuda without CUDA": (
        lambda t, r, m: no_cuda(m) or ["run", "--variants", "gan", *TOY, "--device", "cuda", "--results", r],
        "--device cuda, but PyTorch sees no CUDA device; use --device cpu or auto"),
    "local sweep with --device cuda without CUDA": (
        lambda t, r, m: no_cuda(m) or ["sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians",
                                       "--seeds", "0", "--steps", "2", "--evals", "1", "--device", "cuda", "--name",
                                       "s", "--executor", "local", "--results", r],
        "--device cuda, but PyTorch sees no CUDA device"),
    "--name with a slash": (lambda t, r, m: ["run", "--variants", "gan", *TOY, "--name", "a/b", "--results", r],
                            "--name 'a/b' must be a plain folder name"),
}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (-1, 0)
            for p in root.rglob("*")}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_nothing_written(case, tmp_path, monkeypatch, cli_inprocess):
    make_args, needle = CASES[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = make_args(inputs, str(tmp_path / "results"), monkeypatch)
    needle = needle.replace("{t}", str(inputs))
    before = tree(tmp_path)
    code, out, err = cli_inprocess(*args)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), err
    assert needle in lines[0], lines[0]
    assert "Traceback" not in err
    assert tree(tmp_path) == before  # nothing written, nothing run (no "pwned" file either)
