"""Image data sets: the IDX reader, Fashion-MNIST (fixture and the installed Debian files), MNIST,
CIFAR-10 and folder loaders on files in their real formats, and the errors for missing or bad data."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.config import RunConfig, RunOptions, plan_runs
from bench.data import build_dataset
from bench.data.idx import read_idx, write_idx
from bench.errors import BenchError
from tests.images.files import write_cifar, write_mnist_like, write_pngs

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


# -- IDX -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, name):
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    write_idx(tmp_path / name, array)
    np.testing.assert_array_equal(read_idx(tmp_path / name, "fix it"), array)


def test_idx_header_matches_the_format(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 3), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 2])  # magic: 0, 0, uint8, 2 dimensions
    assert raw[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert len(raw) == 12 + 6


@pytest.mark.parametrize("damage", ["truncated", "too_long", "bad_magic", "not_gzip", "gzip_cut", "empty"])
def test_idx_damage_is_one_line_bench_error(tmp_path, damage):
    good = tmp_path / "good"
    write_idx(good, np.ones((4, 28, 28), np.uint8))
    raw = good.read_bytes()
    path = tmp_path / ("f.gz" if damage in ("not_gzip", "gzip_cut") else "f")
    data = {
        "truncated": raw[:-10],
        "too_long": raw + b"\0",
        "bad_magic": b"\x01" + raw[1:],
        "not_gzip": raw,
        "gzip_cut": gzip.compress(raw)[:-20],
        "empty": b"",
    }[damage]
    path.write_bytes(data)
    with pytest.raises(BenchError) as err:
        read_idx(path, "reinstall the files")
    message = str(err.value)
    assert "\n" not in message and str(path) in message and message.endswith("reinstall the files")


# -- Fashion-MNIST -----------------------------------------------------------------------------------
def test_fashion_mnist_from_data_root(fashion_root, no_system_data):
    data = build_dataset("fashion-mnist", data_root=str(fashion_root))
    assert data.family == "image" and data.shape == (1, 32, 32)
    assert (len(data.train), len(data.test)) == (40, 12)
    assert data.describe()["found_via"] == "--data-root" and data.describe()["root"] == str(fashion_root)
    raw = read_idx(fashion_root / "train-images-idx3-ubyte.gz", "")
    # 28 x 28 padded with 2 background pixels per side, pixels otherwise unchanged
    assert torch.equal(data.train[:, 0, 2:30, 2:30], torch.from_numpy(raw.copy()))
    assert (data.train[:, :, :2] == 0).all() and (data.train[:, :, :, 30:] == 0).all()
    x = data.sample(16, torch.Generator().manual_seed(0))
    assert x.shape == (16, 1, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and (x == -1).any()
    torch.testing.assert_close(x, data.sample(16, torch.Generator().manual_seed(0)))  # the rng alone fixes batches


def test_fashion_mnist_heldout_is_a_fixed_subset_of_the_test_split(fashion_root, no_system_data):
    a = build_dataset("fashion-mnist", data_root=str(fashion_root)).heldout(8, seed=5)
    b = build_dataset("fashion-mnist", data_root=str(fashion_root)).heldout(8, seed=5)
    torch.testing.assert_close(a, b)
    test = read_idx(fashion_root / "t10k-images-idx3-ubyte.gz", "").astype(np.float32) / 127.5 - 1
    for img in a[:, 0, 2:30, 2:30].numpy():
        assert min(np.abs(test - img).max(axis=(1, 2))) < 1e-6  # each held-out image is a test image
    with pytest.raises(BenchError, match="exceeds its 12 test images"):
        build_dataset("fashion-mnist", data_root=str(fashion_root)).heldout(13, seed=5)


def test_fashion_mnist_found_in_torchvision_layout_under_bench_data(tmp_path, monkeypatch, no_system_data):
    write_mnist_like(tmp_path / "FashionMNIST" / "raw", 10, 5, gz=False)  # torchvision's --download layout
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    data = build_dataset("fashion-mnist")
    assert data.describe()["found_via"] == "$BENCH_DATA" and len(data.test) == 5


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir() and os.environ.get("CI") != "true",
                    reason="Debian's dataset-fashion-mnist is not installed (CI installs it)")
def test_real_fashion_mnist_from_the_debian_package(monkeypatch):
    monkeypatch.delenv("BENCH_DATA", raising=False)
    data = build_dataset("fashion-mnist")
    assert data.describe()["root"] == str(SYSTEM_FASHION)
    assert (len(data.train), len(data.test)) == (60_000, 10_000)
    assert data.shape == (1, 32, 32) and data.train.dtype == torch.uint8
    assert data.train.max() == 255 and data.train.min() == 0
    assert data.train_labels.unique().tolist() == list(range(10))
    x = data.heldout(2000, seed=0)
    assert x.shape == (2000, 1, 32, 32) and x.min() == -1 and x.max() == 1
    assert (x[:, :, :2] == -1).all()  # the padding is background


def test_missing_fashion_mnist_names_the_apt_package_and_download(no_system_data):
    with pytest.raises(BenchError) as err:
        build_dataset("fashion-mnist")
    message = str(err.value)
    assert "\n" not in message
    assert "apt-get install dataset-fashion-mnist" in message and "--download" in message


def test_missing_data_root_via_the_cli_is_one_line_exit_2(tmp_path, no_system_data, capsys):
    from bench.cli import main

    for args in (["--dataset", "fashion-mnist"],  # nothing anywhere: name the package and --download
                 ["--dataset", "fashion-mnist", "--data-root", str(tmp_path / "nope")],
                 ["--dataset", "mnist"],
                 ["--dataset", "cifar10", "--data-root", str(tmp_path)]):
        with pytest.raises(SystemExit) as exit_:
            main(["run", "--variants", "gan", "--arch", "dcgan", "--results", str(tmp_path / "res"), *args])
        err = capsys.readouterr().err
        assert exit_.value.code == 2, err
        assert err.count("\n") == 1 and err.startswith("bench: error: "), err
        assert "Traceback" not in err
        assert ("--download" in err) or ("not a directory" in err), err
    assert not (tmp_path / "res").exists()  # nothing written


def test_corrupt_fashion_mnist_is_one_line_error_before_anything_is_written(fashion_root, no_system_data, tmp_path):
    path = fashion_root / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(BenchError, match="t10k-images-idx3-ubyte.gz"):
        plan_runs(["gan"], "dcgan", "fashion-mnist", [0], options=RunOptions.of(data_root=str(fashion_root)))


def test_data_root_is_recorded_but_not_part_of_the_run_identity(fashion_root, no_system_data, tmp_path):
    other = tmp_path / "copy"
    other.mkdir()
    for f in fashion_root.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    (a,) = plan_runs(["gan"], "dcgan", "fashion-mnist", [0],
                     options=RunOptions.of(data_root=str(fashion_root), n_eval=8))
    (b,) = plan_runs(["gan"], "dcgan", "fashion-mnist", [0], options=RunOptions.of(data_root=str(other), n_eval=8))
    assert a.run_id == b.run_id and a.to_dict() == b.to_dict()
    assert a.data_root == str(fashion_root) and b.data_root == str(other)


def test_n_eval_above_the_test_split_fails_in_planning(fashion_root, no_system_data):
    with pytest.raises(BenchError, match="--n-eval 12"):
        plan_runs(["gan"], "dcgan", "fashion-mnist", [0],
                  options=RunOptions.of(data_root=str(fashion_root), n_eval=13))


# -- MNIST and CIFAR-10 through torchvision -------------------------------------------------------
def test_mnist_through_torchvision(tmp_path):
    arrays = write_mnist_like(tmp_path / "MNIST" / "raw", 30, 10, gz=False)
    data = build_dataset("mnist", data_root=str(tmp_path))
    assert data.shape == (1, 32, 32) and (len(data.train), len(data.test)) == (30, 10)
    assert torch.equal(data.test[:, 0, 2:30, 2:30], torch.from_numpy(arrays["t10k-images-idx3-ubyte"]))
    assert data.test_labels.tolist() == (np.arange(10) % 10).tolist()


def test_mnist_corrupt_file_is_a_bench_error(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    write_mnist_like(folder, 30, 10, gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BenchError, match="cannot read"):
        build_dataset("mnist", data_root=str(tmp_path))


def test_cifar10_through_torchvision(cifar_root):
    data = build_dataset("cifar10", data_root=str(cifar_root))
    assert data.shape == (3, 32, 32) and (len(data.train), len(data.test)) == (20, 6)
    assert (data.test[0, 0] == 255).all() and (data.test[0, 1:] == 0).all()  # channel-first, red plane first
    x = data.heldout(6, seed=1)
    assert x.shape == (6, 3, 32, 32) and x.min() >= -1 and x.max() <= 1


def test_cifar10_checksum_mismatch_is_reported(tmp_path):
    write_cifar(tmp_path, per_batch=4, n_test=6)  # real MD5s expected: the fixture fails torchvision's check
    with pytest.raises(BenchError, match="not found or corrupted"):
        build_dataset("cifar10", data_root=str(tmp_path))


# -- folder:PATH ---------------------------------------------------------------------------------
def test_folder_of_pngs(tmp_path):
    write_pngs(tmp_path / "imgs" / "cats", 12, "RGB", (48, 40), seed=1)
    write_pngs(tmp_path / "imgs" / "dogs", 8, "RGB", (32, 32), seed=2)
    data = build_dataset(f"folder:{tmp_path / 'imgs'}")
    assert data.shape == (3, 32, 32)
    assert (len(data.train), len(data.test)) == (18, 2)  # 10% held out
    assert data.describe()["classes"] == 2
    assert sorted(set(data.train_labels.tolist()) | set(data.test_labels.tolist())) == [0, 1]
    again = build_dataset(f"folder:{tmp_path / 'imgs'}")
    assert torch.equal(data.test, again.test)  # the held-out files are fixed


def test_folder_of_grayscale_pngs_is_one_channel_and_exact_at_32(tmp_path):
    from PIL import Image

    paths = write_pngs(tmp_path / "g", 10, "L", (32, 32))
    data = build_dataset(f"folder:{tmp_path / 'g'}")
    assert data.shape == (1, 32, 32)
    pixels = {np.asarray(Image.open(p)).tobytes() for p in paths}
    assert all(img[0].numpy().tobytes() in pixels for img in torch.cat([data.train, data.test]))


def test_folder_errors(tmp_path):
    with pytest.raises(BenchError, match="not a directory"):
        build_dataset(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="found 0 image files"):
        build_dataset(f"folder:{tmp_path / 'empty'}")
    with pytest.raises(BenchError, match="folder:PATH"):
        build_dataset("folder")
    with pytest.raises(BenchError, match="takes no ':PATH'"):
        build_dataset("mnist:/tmp")
    write_pngs(tmp_path / "bad", 3, "L", (32, 32))
    (tmp_path / "bad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(BenchError, match="broken.png"):
        build_dataset(f"folder:{tmp_path / 'bad'}")


def test_folder_run_id_is_a_folder_name_and_path_independent_of_cwd(tmp_path, monkeypatch):
    write_pngs(tmp_path / "My Pics", 20, "L", (32, 32))
    monkeypatch.chdir(tmp_path)
    (rel,) = plan_runs(["gan"], "dcgan", "folder:My Pics", [0], options=RunOptions.of(n_eval=2))
    (absolute,) = plan_runs(["gan"], "dcgan", f"folder:{tmp_path / 'My Pics'}", [0], options=RunOptions.of(n_eval=2))
    assert rel.run_id == absolute.run_id
    assert rel.dataset == f"folder:{tmp_path / 'My Pics'}"
    assert "/" not in rel.run_id and rel.run_id.startswith("gan-dcgan-folder-my-pics-")
    assert isinstance(rel, RunConfig)


def test_search_order_data_root_then_bench_data(fashion_root, tmp_path, monkeypatch, no_system_data):
    write_mnist_like(tmp_path / "env" / "fashion-mnist", 10, 5, gz=True)
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "env"))
    assert build_dataset("fashion-mnist", data_root=str(fashion_root)).describe()["found_via"] == "--data-root"
    assert build_dataset("fashion-mnist", data_root=str(tmp_path)).describe()["found_via"] == "$BENCH_DATA"


@pytest.mark.parametrize("name", ["fashion-mnist", "mnist", "cifar10"])
def test_download_needs_a_place_to_save(name, no_system_data):
    with pytest.raises(BenchError, match="--download needs somewhere to save"):
        build_dataset(name, download=True)
