"""Faults a long sweep meets, each in a real process where it matters: SIGKILL mid-training, SIGTERM,
a damaged checkpoint. Every one must end with the metrics an uninterrupted run has (CPU, same seed)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest
import torch

from bench.store.checkpoint import LAST, PREV, RECORD
from bench.config import RunOptions, plan_runs
from bench.store.faults import Terminated, sigterm_interrupts
from bench.train.loop import run_one
from bench.store.rundir import LOCK, RunDir, decide, read_jsonl
from tests import procs

STEPS, EVALS, EVERY = 160, 2, 10  # evaluations at 80 and 160; a checkpoint every 10 steps between them
TOY = ["--variants", "gan", "--arch", "mlp", "--steps", str(STEPS), "--evals", str(EVALS), "--batch-size", "8",
       "--n-eval", "64", "--set", "width=16", "--ckpt-every", str(EVERY), "--no-progress"]


def config(**kw):
    # gan: the cheapest variant (tests/e2e/test_stop_resume.py resumes wgan-gp, whose loss draws random numbers)
    [cfg] = plan_runs(["gan"], "mlp", "8gaussians", [0], "quick", sets={"width": "16"},
                      options=RunOptions.of(steps=STEPS, evals=EVALS, batch_size=8, n_eval=64, ckpt_every=EVERY, **kw))
    return cfg


def rows(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_jsonl(run_dir / "metrics.jsonl")]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run every faulted run must end up equal to."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("straight")
    result = run_one(config(), root, "straight", progress=False)
    assert result.status == "done"
    out = rows(result.path)
    assert [r["step"] for r in out] == [80, 160]
    return out


def test_sigkill_mid_training_then_the_same_command_resumes_to_identical_metrics(tmp_path, cli_inprocess, straight):
    run = tmp_path / "k" / config().run_id
    args = ["run", *TOY, "--results", str(tmp_path), "--name", "k"]
    child = procs.start(args, tmp_path / "killed.log")

    def two_checkpoints_in():  # so that the kill lands with last.pt and prev.pt on disk, between evaluations
        rec = procs.read_json_or_none(run / "ckpt" / RECORD)
        return rec is not None and len(rec["checkpoints"]) == 2

    procs.wait_for(two_checkpoints_in, what="two checkpoints", proc=child)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "running" and record["step"] < STEPS  # a hard kill writes nothing more
    assert (run / LOCK).exists()  # left behind; its pid is dead, so the next run takes it over

    code, _, err = cli_inprocess(*args)
    assert code == 0, err
    assert "resumed from its checkpoint" in err
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "done" and record["resumed_from_step"] >= EVERY
    assert record["resumed_from_step"] % EVERY == 0 or record["resumed_from_step"] == 80
    assert rows(run) == straight
    assert not list(run.rglob(".*.tmp-*")) and not (run / LOCK).exists()


def stopped_at(step: int, root, name: str):
    """A run stopped at `step` (a step boundary; as on the scheduler's signal): checkpoints at every
    10th step, then one at `step`, so last.pt is at `step` and prev.pt at the 10th step before it."""
    polls = []
    result = run_one(config(), root, name, progress=False, stop=lambda: polls.append(1) or len(polls) >= step)
    assert result.status == "interrupted"
    return result.path


def test_truncated_checkpoint_falls_back_to_the_previous_one_and_says_so(tmp_path, cli_inprocess, straight):
    run = stopped_at(57, tmp_path, "t")
    record = json.loads((run / "ckpt" / RECORD).read_text())["checkpoints"]
    assert [(e["file"], e["step"]) for e in record] == [(LAST, 57), (PREV, 50)]
    last = run / "ckpt" / LAST
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])

    code, _, err = cli_inprocess("run", *TOY, "--results", str(tmp_path), "--name", "t")
    assert code == 0, err
    (line,) = [ln for ln in err.splitlines() if "ckpt/last.pt" in ln]
    assert "ckpt/last.pt is truncated" in line
    assert "resuming from the previous good checkpoint ckpt/prev.pt (step 50)" in line
    record = json.loads((run / "run.json").read_text())
    assert record["resumed_from_step"] == 50 and "truncated" in record["checkpoint_problems"]
    assert rows(run) == straight


def test_altered_checkpoints_with_no_good_one_left_restart_and_say_so(tmp_path, cli_inprocess, straight):
    run = stopped_at(33, tmp_path, "a")
    for name in (LAST, PREV):
        path = run / "ckpt" / name
        data = bytearray(path.read_bytes())
        data[-200] ^= 0x01  # one bit, same size
        path.write_bytes(bytes(data))

    code, _, err = cli_inprocess("run", *TOY, "--results", str(tmp_path), "--name", "a")
    assert code == 0, err
    assert "ckpt/last.pt does not match its recorded checksum" in err
    assert "ckpt/prev.pt does not match its recorded checksum" in err
    assert "no good checkpoint left: restarting from step 0" in err
    record = json.loads((run / "run.json").read_text())
    assert record["resumed_from_step"] is None and record["status"] == "done"
    assert rows(run) == straight


def test_second_process_on_a_running_run_refuses_then_sigterm_interrupts_cleanly(tmp_path, cli_inprocess):
    args = ["run", "--variants", "gan", "--arch", "mlp", "--steps", "1000000", "--evals", "1", "--batch-size", "8",
            "--n-eval", "64", "--set", "width=8", "--ckpt-every", "20", "--no-progress",
            "--results", str(tmp_path), "--name", "busy"]
    [cfg] = plan_runs(["gan"], "mlp", "8gaussians", [0], "quick", sets={"width": "8"},
                      options=RunOptions.of(steps=10 ** 6, evals=1, batch_size=8, n_eval=64))
    run = RunDir(tmp_path / "busy" / cfg.run_id)
    first = procs.start(args, tmp_path / "first.log")
    procs.wait_for(lambda: (procs.read_json_or_none(run.path / "ckpt" / RECORD) or {}).get("checkpoints"),
                   what="the first process's first checkpoint", proc=first)

    # A second process on the same run id refuses, naming the first one; --force does not move it aside.
    lock = run.path / LOCK
    expected = f"is in use by pid {first.pid} on {socket.gethostname()} (lock file {lock})"
    for extra in ([], ["--force"]):
        code, _, err = cli_inprocess(*args, *extra)
        assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert json.loads(lock.read_text())["pid"] == first.pid
    assert [p.name for p in run.path.parent.iterdir()] == [cfg.run_id]  # nothing moved aside

    # SIGTERM: recorded as an interruption, lock released, and the same command would resume it.
    os.kill(first.pid, signal.SIGTERM)
    first.join(60)
    assert first.exitcode == 128 + signal.SIGTERM
    record = run.read()
    assert record["status"] == "interrupted" and record["interrupted_by"] == "Terminated: SIGTERM"
    assert record["step"] >= 20 and not lock.exists()
    log = (tmp_path / "first.log").read_text()
    assert f"interrupted at step {record['step']} (Terminated: SIGTERM); run the same command again to resume " \
           f"from step {record['checkpoint']['step']}" in log
    assert decide(run, cfg.to_dict(), force=False) == "resume"


def test_sigterm_handler_only_where_nobody_owns_the_signal():
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with pytest.raises(Terminated):
        with sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises at the next bytecode, well before this ends
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored

    def submitits(signum, frame):  # stands for submitit's handler in a sweep job
        pass

    before = signal.signal(signal.SIGTERM, submitits)
    try:
        with sigterm_interrupts():
            assert signal.getsignal(signal.SIGTERM) is submitits  # left alone
    finally:
        signal.signal(signal.SIGTERM, before)
