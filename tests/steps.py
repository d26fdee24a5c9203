"""One run's member and engine stepped by hand, as the loop (bench.train.loop) steps them for K = 1
but without its run folder: for tests that look inside a training step."""

from __future__ import annotations

from pathlib import Path

from bench.config import RunConfig
from bench.train.engine import Engine
from bench.train.evaluate import evaluate
from bench.train.member import Member


def solo(cfg: RunConfig, dataset=None) -> Engine:
    return Engine(Member(cfg, dataset=dataset))


def evaluate_now(engine: Engine, snapshot: Path | None = None) -> dict:
    """The loop's evaluation of a run alone: bring the member up to date, one row, reset the sums."""
    engine.sync()
    row = evaluate(engine.member, snapshot)
    engine.reset_sums()
    return row


def save(engine: Engine, path: Path) -> None:
    engine.sync()
    engine.member.save(path)


def resumed(cfg: RunConfig, path: Path) -> Engine:
    member = Member(cfg)
    member.load(path)
    return Engine(member)
