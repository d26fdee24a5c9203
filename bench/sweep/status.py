"""Where a sweep stands: its folder's files, every run's state (bench.store.runstate), and the grouping that
fits 500 runs on one screen.

A sweep folder (results/<name>/) holds the runs (<run-id>/run.json), sweep.json (the grid and its run
ids, written by `bench sweep`), jobs.jsonl (one line per submitted run: executor, job id, log folder)
and retry-jobs.jsonl (the jobs that resubmit tasks ended by OUT_OF_MEMORY, NODE_FAIL or PREEMPTED,
bench.sweep.retry). A folder written by `bench run` has only the runs; it is shown all the same.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.store.runstate import JOBS_JSONL, STATES, SWEEP_JSON, RunState, latest_jobs, sweep_states
from bench.store.rundir import RUN_JSON, atomic_write_json, read_json, read_jsonl

RETRY_JOBS = "retry-jobs.jsonl"
__all__ = ["JOBS_JSONL", "STATES", "SWEEP_JSON", "RunState", "latest_jobs", "read_jsonl"]


# -- the sweep folder -----------------------------------------------------------------------------------
def write_sweep(folder: Path, spec: dict, run_ids: list[str], executor: str, profile: str) -> None:
    """Record the grid; run ids of earlier submissions of this folder are kept, so status still lists them."""
    path = folder / SWEEP_JSON
    old = read_json(path).get("runs", []) if path.exists() else []
    atomic_write_json(path, {"spec": spec, "executor": executor, "profile": profile,
                             "runs": list(dict.fromkeys([*old, *run_ids]))})


def append_jobs(folder: Path, records: list[dict], name: str = JOBS_JSONL) -> None:
    """One line per submitted run (appended and flushed; the latest line for a run id wins)."""
    with open(folder / name, "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
        f.flush()
        os.fsync(f.fileno())


def run_ids(folder: Path) -> list[str]:
    """The sweep's runs: those sweep.json lists, then any other run folder (e.g. from `bench run`)."""
    listed = read_json(folder / SWEEP_JSON).get("runs", []) if (folder / SWEEP_JSON).exists() else []
    on_disk = sorted(p.parent.name for p in folder.glob(f"*/{RUN_JSON}") if ".replaced-" not in p.parent.name)
    return list(dict.fromkeys([*listed, *on_disk]))


def find_folders(root: Path) -> list[Path]:
    """Every folder under a results root that holds a sweep or runs (sweep.json or <run-id>/run.json)."""
    if not root.is_dir():
        raise BenchError(f"no results folder {root}; pass RESULTS/NAME or --results DIR")
    found = {p.parent for p in root.glob(f"*/{SWEEP_JSON}")} | {p.parent.parent for p in root.glob(f"*/*/{RUN_JSON}")}
    if not found:
        raise BenchError(f"no sweeps or runs under {root}; pass RESULTS/NAME")
    return sorted(found)


def all_jobs(folder: Path) -> list[dict]:
    """Every job a sweep submitted: its runs' jobs (every line of jobs.jsonl) and its retry jobs."""
    return read_jsonl(folder / JOBS_JSONL) + read_jsonl(folder / RETRY_JOBS)


# -- states ---------------------------------------------------------------------------------------------
def sweep_status(folder: Path) -> list[RunState]:
    if not folder.is_dir():
        raise BenchError(f"{folder} is not a results folder; pass RESULTS/NAME, e.g. bench status results/my-sweep")
    ids = run_ids(folder)
    if not ids:
        raise BenchError(f"{folder} holds no runs and no sweep.json; pass the folder a `bench sweep` or `bench run` "
                         f"wrote, e.g. results/<name>")
    return sweep_states(folder, ids)


def counts(states: list[RunState]) -> Counter:
    return Counter(s.state for s in states)


@dataclass
class Group:
    """Runs in the same state for the same reason: one line of `bench status`, with an example."""

    state: str
    reason: str
    runs: list[RunState] = field(default_factory=list)

    @property
    def example(self) -> RunState:
        return self.runs[0]


def groups(states: list[RunState], only: set[str] | None = None) -> list[Group]:
    """Runs grouped by (state, reason), in STATES order, largest group first within a state."""
    by: dict[tuple[str, str], Group] = {}
    for s in states:
        if only is None or s.state in only:
            by.setdefault((s.state, s.reason), Group(s.state, s.reason)).runs.append(s)
    return sorted(by.values(), key=lambda g: (STATES.index(g.state), -len(g.runs), g.reason))
