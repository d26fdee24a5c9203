"""A full or read-only results disk: one clear line (exit 2), and no half-written file left as if complete.

A real full disk is a 1 MB tmpfs (needs permission to mount; skipped, saying so, where there is none).
The same faults are also simulated everywhere by making the writes fail with ENOSPC / EROFS partway."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess

import pytest
import torch
from PIL import Image

from bench.store.checkpoint import LAST, RECORD
from bench.store.rundir import LOCK, read_jsonl

TINY = ["--variants", "gan", "--arch", "mlp", "--batch-size", "8", "--n-eval", "64", "--no-progress"]


@pytest.fixture
def tmpfs(tmp_path):
    """mount(name, *options) -> a fresh tmpfs at tmp_path/name; unmounted afterwards."""
    mounted = []

    def mount(name: str, *options: str):
        point = tmp_path / name
        point.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount command here; the simulated ENOSPC/EROFS tests cover these faults")
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(point)],
                             capture_output=True, text=True)
        if res.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}); the simulated "
                        "ENOSPC/EROFS tests cover these faults")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), err
    return lines[0]


def assert_nothing_half_written(run) -> None:
    """Every file under the run is complete: no temporaries, JSON that parses, pictures that decode."""
    assert not list(run.rglob(".*.tmp-*"))
    json.loads((run / "run.json").read_text())
    if (run / "metrics.jsonl").exists():
        text = (run / "metrics.jsonl").read_text()
        assert text == "" or text.endswith("\n")
        [json.loads(line) for line in text.splitlines()]
    for png in (run / "samples").glob("*.png"):
        with Image.open(png) as im:
            im.verify()
    assert not (run / LOCK).exists()


def test_full_disk_is_one_line_and_leaves_no_half_file_then_the_same_command_finishes(tmp_path, tmpfs, cli_inprocess):
    disk = tmpfs("disk", "size=1m")
    # the default 3 x 512 MLP: a ~13 MB checkpoint, which cannot fit in 1 MB
    args = ["run", *TINY, "--steps", "2", "--evals", "1", "--results", str(disk / "res"), "--name", "full"]
    code, _, err = cli_inprocess(*args)
    assert code == 2
    line = one_line(err)
    assert "no space left on device writing" in line and f"ckpt/{LAST}" in line and "run the same command again" in line
    (run,) = (disk / "res" / "full").iterdir()
    assert_nothing_half_written(run)
    assert not (run / "ckpt" / LAST).exists() and not (run / "ckpt" / RECORD).exists()
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "failed" and "No space left on device" in record["error"]
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [2]

    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
    code, _, err = cli_inprocess(*args)
    assert code == 0, err
    assert json.loads((run / "run.json").read_text())["status"] == "done"
    assert_nothing_half_written(run)


def test_read_only_results_root_is_one_line_and_nothing_written(tmp_path, tmpfs, cli_inprocess):
    ro = tmpfs("ro", "ro", "size=1m")
    code, _, err = cli_inprocess("run", *TINY, "--steps", "2", "--evals", "1", "--results", str(ro / "res"))
    assert code == 2
    assert f"results path {ro} is not writable; pass --results DIR with a writable directory" in one_line(err)
    assert list(ro.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits (the tmpfs test covers root)")
def test_unwritable_results_root_is_one_line_and_nothing_written(tmp_path, cli_inprocess):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    code, _, err = cli_inprocess("run", *TINY, "--steps", "2", "--evals", "1", "--results", str(locked / "res"))
    assert code == 2 and "is not writable" in one_line(err)
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("code_, words", [(errno.ENOSPC, "no space left on device"),
                                          (errno.EROFS, "read-only file system")])
def test_checkpoint_write_failing_partway(tmp_path, monkeypatch, cli_inprocess, code_, words):
    real_save = torch.save

    def save_then_fail(obj, f, *a, **k):  # the disk fills (or turns read-only) in the middle of the file
        f.write(b"PK\x03\x04" + b"\0" * 4096)
        raise OSError(code_, os.strerror(code_))

    monkeypatch.setattr(torch, "save", save_then_fail)
    code, _, err = cli_inprocess("run", *TINY, "--set", "width=8", "--steps", "2", "--evals", "1",
                                 "--results", str(tmp_path), "--name", "c")
    monkeypatch.setattr(torch, "save", real_save)
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"bench: error: {words} writing ") and line.split(" writing ")[1].split(";")[0].endswith(
        f"ckpt/{LAST}")
    (run,) = (tmp_path / "c").iterdir()
    assert_nothing_half_written(run)
    assert not (run / "ckpt" / LAST).exists()
    assert json.loads((run / "run.json").read_text())["status"] == "failed"


def test_metrics_append_failing_partway_leaves_no_half_line_and_the_run_resumes(tmp_path, monkeypatch, cli_inprocess):
    real_write = os.write
    appended = []

    def write(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("metrics.jsonl"):
            appended.append(len(data))
            if len(appended) == 2:  # the second row: half of it reaches the disk, then the disk is full
                real_write(fd, bytes(data)[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    args = ["run", *TINY, "--set", "width=8", "--steps", "4", "--evals", "2", "--results", str(tmp_path), "--name", "m"]
    monkeypatch.setattr(os, "write", write)
    code, _, err = cli_inprocess(*args)
    monkeypatch.setattr(os, "write", real_write)
    assert code == 2
    assert "no space left on device writing" in one_line(err) and "metrics.jsonl" in err
    (run,) = (tmp_path / "m").iterdir()
    assert_nothing_half_written(run)
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [2]  # the half row was cut back off

    code, _, err = cli_inprocess(*args)  # space freed: the same command resumes from step 2's checkpoint
    assert code == 0, err
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "done" and record["resumed_from_step"] == 2
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [2, 4]
