"""Read results folders back into pandas frames; never recompute a metric.

A results folder is results/<sweep>/<run-id>/ with run.json and metrics.jsonl (see bench/store/rundir.py).
`load` accepts any folder above runs (the results root, one sweep, or one run) and returns:

    runs  one row per run: labels, status, timings, why it failed or when it diverged
    rows  one row per run x evaluation step, one column per numeric metric (the "wide" frame)
    long  one row per run x step x metric: run labels, value, the reason when the value is
          missing, and where it came from (the frame written as runs.csv for users' own analysis)

`bench eval` appends a second row for a step it recomputes (`recomputed: true`, only the keys it
recomputed); the loader merges it into the run's original row of that step (`merge_recomputed`), so
every step is one row and a run's last row is still its complete last evaluation.

Runs are grouped for statistics by GROUP: data set, variant, architecture, and `setting`: the
run's `--set` overrides (or "defaults") and a short hash of its configuration without its seed and
device, so that runs trained under different schedules or hyperparameters are never pooled, and a
reader sees which hyperparameters a group changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.report.measures import Measures
from bench.store.rundir import METRICS, RUN_JSON, read_jsonl

GROUP = ["dataset", "variant", "arch", "setting"]
LABELS = ["run", "sweep", "run_id", *GROUP, "seed", "status"]
# Statuses. `done` runs enter means and correlations; the others are listed and counted.
FINISHED = "done"
STATUSES = ["done", "running", "pending", "interrupted", "diverged", "failed"]


@dataclass
class Results:
    runs: pd.DataFrame
    rows: pd.DataFrame
    long: pd.DataFrame
    records: dict[str, dict]  # run -> run.json
    measures: Measures  # what each metric key means (the runs' declarations; bench.report.measures)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # run folders left out, and why
    excluded: dict[str, str] = field(default_factory=dict)  # run -> why it is left out of the statistics

    def metric_keys(self) -> list[str]:
        return [c for c in self.rows.columns if c not in LABELS and c != "step"]

    def without(self, excluded: dict[str, str]) -> "Results":
        """The same runs, with `excluded` runs' rows left out of every statistic (they stay in `runs`)."""
        keep_rows = ~self.rows["run"].isin(list(excluded)) if len(self.rows) else slice(None)
        keep_long = ~self.long["run"].isin(list(excluded)) if len(self.long) else slice(None)
        return Results(self.runs, self.rows[keep_rows].reset_index(drop=True),
                       self.long[keep_long].reset_index(drop=True), self.records, self.measures, self.ignored,
                       {**self.excluded, **excluded})


def find_runs(folders: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every run folder (one holding run.json) under the given folders, in a stable order."""
    found: dict[Path, None] = {}
    ignored: list[tuple[Path, str]] = []
    for folder in folders:
        if not folder.exists():
            raise BenchError(f"results folder {folder} does not exist; pass a folder written by `bench run`, "
                             f"e.g. results/<name>")
        if not folder.is_dir():
            raise BenchError(f"{folder} is a file, not a results folder; pass a folder written by `bench run`")
        before = len(found)
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            here = Path(dirpath)
            if ".replaced-" in here.name:  # moved aside by `bench run --force`: superseded
                ignored.append((here, "replaced by a later run (bench run --force)"))
                dirnames[:] = []
                continue
            if RUN_JSON in filenames:
                found[here.resolve()] = None
                dirnames[:] = []  # a run's own subfolders (samples/, ckpt/) hold no runs
        if len(found) == before:
            raise BenchError(f"no runs under {folder} (no <run-id>/run.json found); pass a folder written by "
                             f"`bench run`, e.g. results/<name>")
    return list(found), ignored


def _setting(config: dict) -> str:
    """Runs that differ only in seed (and device) share a setting: e.g. `defaults·a02fe9`, or
    `beta1=0.5,gp_weight=0.1·a533ea` for runs with those `--set` overrides."""
    rest = {k: v for k, v in config.items() if k not in ("seed", "device")}
    sets = config.get("sets") or {}
    said = ",".join(f"{k}={v}" for k, v in sorted(sets.items())) if sets else "defaults"
    return f"{said}·{hashlib.sha1(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:6]}"


def _shown(path: Path) -> str:
    """A run's folder as the report shows it: relative to the working directory when under it, so a
    report written from a repository's root names the same folders on every machine."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_status(path: Path, record: dict) -> str:
    from bench.store.runstate import label  # the one state `bench status` shows too: run.json, lock and scheduler

    return label(path, record)


def _read_record(path: Path) -> dict:
    try:
        with open(path / RUN_JSON) as f:
            record = json.load(f)
        config = record["config"]
        for key in ("variant", "arch", "dataset", "seed"):
            config[key]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise BenchError(f"{path / RUN_JSON} is not a run record written by `bench run` ({type(e).__name__}: {e}); "
                         f"move that folder out of the results tree") from None
    return record


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


PROVENANCE_KEYS = ("step", "recomputed", "recomputed_at", "missing")


def merge_recomputed(rows: list[dict]) -> tuple[list[dict], dict[int, dict[str, str]]]:
    """One row per step: a row `bench eval` appended (`recomputed: true`) is merged into the row of
    the same step written during training. Its values override the original ones; a key it could not
    compute (null) does not erase an original value. Returns the merged rows in step order and, per
    step, {key: "bench eval <recomputed_at>"} for every value that came from a recomputation."""
    merged: dict[int, dict] = {}
    source: dict[int, dict[str, str]] = {}
    for row in rows:
        step = int(row["step"])
        if not row.get("recomputed") or step not in merged:
            merged[step] = dict(row)
            if row.get("recomputed"):
                source[step] = {k: f"bench eval {row.get('recomputed_at', '')}".strip() for k in row
                                if k not in PROVENANCE_KEYS}
            continue
        base = merged[step]
        said = f"bench eval {row.get('recomputed_at', '')}".strip()
        missing = dict(base.get("missing") or {})
        for k, v in row.items():
            if k in PROVENANCE_KEYS:
                continue
            if v is None and base.get(k) is not None:
                continue  # the recomputation failed where training succeeded: keep the original value
            base[k] = v
            source.setdefault(step, {})[k] = said
            if v is None and (row.get("missing") or {}).get(k):
                missing[k] = row["missing"][k]
            else:
                missing.pop(k, None)
        if missing:
            base["missing"] = missing
        else:
            base.pop("missing", None)
    return [merged[s] for s in sorted(merged)], source


def load(folders: list[Path]) -> Results:
    paths, ignored = find_runs(folders)
    names = [f"{p.parent.name}/{p.name}" for p in paths]
    if len(set(names)) < len(names):  # the same sweep/run-id under two roots: use full paths
        names = [str(p) for p in paths]
    runs, rows, long, records = [], [], [], {}
    for run, path in zip(names, paths):
        record = _read_record(path)
        records[run] = record
        cfg = record["config"]
        labels = {
            "run": run, "sweep": path.parent.name, "run_id": record.get("run_id", path.name),
            "dataset": cfg["dataset"], "variant": cfg["variant"], "arch": cfg["arch"], "setting": _setting(cfg),
            "seed": cfg["seed"], "status": run_status(path, record),
        }
        metric_rows, recomputed = merge_recomputed(read_jsonl(path / METRICS))
        timings = record.get("timings") or {}
        runs.append({
            **labels,
            "steps": cfg.get("schedule", {}).get("steps"),
            "last_step": metric_rows[-1]["step"] if metric_rows else None,
            "evals": len(metric_rows),
            "steps_per_s": timings.get("steps_per_s"),
            "device": record.get("device"),
            "estimates_wasserstein": (record.get("variant") or {}).get("estimates_wasserstein"),
            "diverged_at_step": record.get("diverged_at_step"),
            "diverged_why": (record.get("divergence") or {}).get("reason"),  # bench.train.divergence
            "error": record.get("error"),
            "recomputed": sum(len(v) for v in recomputed.values()),  # values `bench eval` replaced or added
            "path": _shown(path),
        })
        for row in metric_rows:
            step = int(row["step"])
            missing = row.get("missing") or {}
            values = {k: float(v) for k, v in row.items() if _numeric(v) and k != "step"}
            values.update({k: float("nan") for k, v in row.items() if v is None})
            rows.append({**labels, "step": step, **values})
            came = recomputed.get(step, {})
            for k, v in values.items():
                reason = missing.get(k) or (missing.get("*") if pd.isna(v) else None) or ""
                long.append({**labels, "step": step, "metric": k, "value": v, "missing": reason,
                             "source": came.get(k, "run")})
    runs_df = pd.DataFrame(runs).sort_values(["dataset", "variant", "arch", "setting", "seed", "run"], kind="stable")
    rows_df = pd.DataFrame(rows, columns=[*LABELS, "step"] if not rows else None)
    long_df = pd.DataFrame(long, columns=[*LABELS, "step", "metric", "value", "missing", "source"])
    return Results(runs_df.reset_index(drop=True), rows_df, long_df, records, Measures.of_records(records.values()),
                   ignored)
