"""A run stopped between evaluations (the scheduler's signal, seen at a step boundary) checkpoints
there, and the resumed run ends with exactly the metrics of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from bench.config import RunOptions, plan_runs
from bench.sweep.jobs import StopRequest, TrainJob
from bench.train.loop import run_one
from bench.store.rundir import read_jsonl
from bench.sweep.submit import triage

STEPS, STOP_AT = 40, 17  # one evaluation, at step 40: the stop falls between evaluations


pytestmark = pytest.mark.usefixtures("one_thread")


def config(steps: int = STEPS):
    # wgan-gp: several critic steps per generator step and randomness inside the loss (the GP's eps)
    [cfg] = plan_runs(["wgan-gp"], "mlp", "8gaussians", [3], "quick", sets={"width": "32"},
                      options=RunOptions.of(steps=steps, batch_size=16, evals=1))
    return cfg


def rows(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_jsonl(run_dir / "metrics.jsonl")]


def test_stop_mid_interval_then_resume_matches_uninterrupted(tmp_path):
    cfg = config()
    polls = []

    def stop():  # what bench.sweep.jobs.StopRequest answers once the signal came
        polls.append(1)
        return len(polls) >= STOP_AT

    first = run_one(cfg, tmp_path, "stopped", progress=False, stop=stop)
    assert first.status == "interrupted"
    run = tmp_path / "stopped" / cfg.run_id
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and record["step"] == STOP_AT
    assert (run / "ckpt" / "last.pt").exists() and rows(run) == []  # stopped before the only evaluation
    # submitting the sweep again would resume it
    [planned] = triage([cfg], tmp_path / "stopped")
    assert (planned.action, planned.note) == ("resume", f"from step {STOP_AT}")

    second = run_one(cfg, tmp_path, "stopped", progress=False)
    assert (second.action, second.status) == ("resume", "done")
    assert json.loads((run / "run.json").read_text())["resumed_from_step"] == STOP_AT

    straight = run_one(cfg, tmp_path, "straight", progress=False)
    assert straight.status == "done"
    assert rows(run) == rows(tmp_path / "straight" / cfg.run_id)
    assert len(rows(run)) == 1 and rows(run)[0]["step"] == STEPS


class Forwarded(Exception):
    """Stands for submitit's handler, which requeues and exits the process."""


def fake_submitit_handler(signum, frame):
    raise Forwarded(signum)


@pytest.fixture
def usr2_handler():
    """Install a stand-in for submitit's USR2 handler (never leave USR2 at its default: it kills pytest)."""
    sig = StopRequest().signum
    before = signal.signal(sig, fake_submitit_handler)
    yield sig
    signal.signal(sig, before)


def test_train_job_stops_at_a_step_boundary_on_the_signal_then_forwards_it(tmp_path, usr2_handler):
    cfg = config(steps=10 ** 6)  # would run for hours: only the signal ends it
    run_json = tmp_path / "sw" / cfg.run_id / "run.json"

    def signal_once_training():
        while not (run_json.exists() and '"running"' in run_json.read_text()):
            time.sleep(0.01)
        time.sleep(0.2)
        os.kill(os.getpid(), usr2_handler)

    threading.Thread(target=signal_once_training, daemon=True).start()
    with pytest.raises(Forwarded):
        TrainJob()(cfg, str(tmp_path), "sw")
    record = json.loads(run_json.read_text())
    assert record["status"] == "interrupted" and 0 < record["step"] < 10 ** 6
    # what stopped it is said (issue 17: interrupted_by was null for the scheduler's signal)
    assert record["interrupted_by"].startswith("USR2 (the scheduler's warning")
    assert record["attempts"][-1]["ended"] == f"interrupted by {record['interrupted_by']}"
    assert (run_json.parent / "ckpt" / "last.pt").exists()
    assert signal.getsignal(usr2_handler) is fake_submitit_handler  # ours is removed again

    # submitit then asks for the job to requeue: a fresh TrainJob with the same arguments
    delayed = TrainJob().checkpoint(cfg, str(tmp_path), "sw")
    assert isinstance(delayed.function, TrainJob) and delayed.args == (cfg, str(tmp_path), "sw")


def test_signal_forwarded_anyway_when_no_step_boundary_comes(usr2_handler):
    with pytest.raises(Forwarded):
        with StopRequest(grace_s=0.2) as stop:
            os.kill(os.getpid(), usr2_handler)
            assert stop()
            time.sleep(30)  # a step that never ends: the grace period runs out, SIGALRM forwards the signal
