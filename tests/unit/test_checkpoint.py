"""Checkpoints: the checksum record, the previous-good fallback, the cadence, and loading that cannot
run code (bench/store/checkpoint.py)."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

from bench.store import checkpoint as ck
from bench.store.atomic import sha256_file
from bench.store.checkpoint import LAST, PREV, RECORD, Cadence, Checkpoints, Policy, make_policy
from bench.errors import BenchError


def state(step: int) -> dict:
    return {"step": step, "w": torch.full((256,), float(step))}


def saved(tmp_path, *steps) -> Checkpoints:
    c = Checkpoints(tmp_path)
    for s in steps:
        c.save(state(s), s)
    return c


def test_two_checkpoints_kept_with_their_sha256_recorded(tmp_path):
    saved(tmp_path, 10, 20, 30)
    folder = tmp_path / "ckpt"
    record = json.loads((folder / RECORD).read_text())["checkpoints"]
    assert [(e["file"], e["step"]) for e in record] == [(LAST, 30), (PREV, 20)]
    for e in record:
        assert sha256_file(folder / e["file"]) == e["sha256"] and (folder / e["file"]).stat().st_size == e["bytes"]
    assert sorted(p.name for p in folder.iterdir()) == [RECORD, LAST, PREV]  # no temporary left
    found = Checkpoints(tmp_path).load_latest()
    assert found.state["step"] == 30 and found.problems == [] and found.describe() is None


def test_truncated_last_falls_back_to_the_previous_and_says_so(tmp_path):
    saved(tmp_path, 10, 20)
    last = tmp_path / "ckpt" / LAST
    last.write_bytes(last.read_bytes()[:-100])
    found = Checkpoints(tmp_path).load_latest()
    assert found.state["step"] == 10 and torch.equal(found.state["w"], torch.full((256,), 10.0))
    line = found.describe()
    assert "ckpt/last.pt is truncated" in line
    assert "resuming from the previous good checkpoint ckpt/prev.pt (step 10)" in line
    assert "\n" not in line


def test_altered_bytes_of_the_same_size_are_caught(tmp_path):
    saved(tmp_path, 10, 20)
    last = tmp_path / "ckpt" / LAST
    data = bytearray(last.read_bytes())
    data[len(data) // 2] ^= 0xFF
    last.write_bytes(bytes(data))
    found = Checkpoints(tmp_path).load_latest()
    assert found.state["step"] == 10
    assert "ckpt/last.pt does not match its recorded checksum" in found.describe()


def test_both_damaged_restarts_and_says_so(tmp_path):
    saved(tmp_path, 10, 20)
    for name in (LAST, PREV):
        (tmp_path / "ckpt" / name).write_bytes(b"garbage")
    found = Checkpoints(tmp_path).load_latest()
    assert found.state is None
    assert found.describe().endswith("no good checkpoint left: restarting from step 0")


def test_resumed_from_prev_the_next_save_keeps_prev(tmp_path):
    saved(tmp_path, 10, 20)
    (tmp_path / "ckpt" / LAST).write_bytes(b"garbage")
    c = Checkpoints(tmp_path)
    assert c.load_latest().state["step"] == 10
    c.save(state(15), 15)  # the resumed run's next checkpoint replaces the damaged one, keeps the good one
    found = Checkpoints(tmp_path).load_latest()
    assert found.state["step"] == 15 and found.problems == []
    (tmp_path / "ckpt" / LAST).write_bytes(b"garbage")
    assert Checkpoints(tmp_path).load_latest().state["step"] == 10


@pytest.mark.parametrize("killed_at", [1, 2])  # 1: after the record, before any rename; 2: between the renames
def test_a_kill_between_the_steps_of_a_save_leaves_a_trusted_checkpoint(tmp_path, monkeypatch, killed_at):
    c = saved(tmp_path, 10)
    calls = []
    real_replace = os.replace

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == killed_at + 1:  # the record's own atomic write is the first os.replace
            raise KeyboardInterrupt  # the process dies here
        return real_replace(src, dst)

    monkeypatch.setattr(ck.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        c.save(state(20), 20)
    monkeypatch.setattr(ck.os, "replace", real_replace)
    found = Checkpoints(tmp_path).load_latest()
    assert found.state["step"] == 10 and found.problems == []
    assert not [p for p in (tmp_path / "ckpt").iterdir() if ".tmp-" in p.name]  # its temporary was removed


class RunsCode:
    """Unpickling this calls os.system: what a checkpoint loaded with weights_only=False would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_even_with_a_matching_checksum(tmp_path):
    saved(tmp_path, 10, 20)
    marker = tmp_path / "pwned"
    last = tmp_path / "ckpt" / LAST
    with open(last, "wb") as f:
        torch.save({"step": 99, "evil": RunsCode(marker)}, f, pickle_module=pickle)
    record_path = tmp_path / "ckpt" / RECORD
    record = json.loads(record_path.read_text())
    record["checkpoints"][0].update(sha256=sha256_file(last), bytes=last.stat().st_size)  # an attacker's record
    record_path.write_text(json.dumps(record))
    found = Checkpoints(tmp_path).load_latest()
    assert not marker.exists()
    assert found.state["step"] == 10 and "ckpt/last.pt cannot be loaded (UnpicklingError" in found.describe()


def test_checkpoints_from_before_checksums_still_resume(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    torch.save(state(7), folder / LAST)
    found = Checkpoints(tmp_path).load_latest()
    assert found.state["step"] == 7 and found.problems == []


def test_cadence_by_steps_and_by_wall_time():
    now = [0.0]
    by_steps = Cadence(Policy(every_steps=5, every_s=0), clock=lambda: now[0])
    assert [s for s in range(1, 16) if by_steps.due(s)] == [5, 10, 15]
    by_time = Cadence(Policy(every_steps=0, every_s=60), clock=lambda: now[0])
    now[0] = 59.0
    assert not by_time.due(1)
    now[0] = 61.0
    assert by_time.due(2)
    by_time.saved()
    assert not by_time.due(3)
    never = Cadence(Policy(every_steps=0, every_s=0), clock=lambda: now[0])
    now[0] = 1e9
    assert not any(never.due(s) for s in range(1, 100))


@pytest.mark.parametrize("steps, seconds, needle", [(-1, 600, "--ckpt-every -1: must be >= 0"),
                                                    (0, -5, "--ckpt-every-s -5.0: must be >= 0"),
                                                    (0, float("nan"), "--ckpt-every-s nan")])
def test_bad_cadence_is_a_bench_error(steps, seconds, needle):
    with pytest.raises(BenchError, match=needle.replace("-", r"\-").replace(".", r"\.")):
        make_policy(steps, seconds)
