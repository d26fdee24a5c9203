"""What a finished run keeps on disk (`--keep-checkpoints`, issue 17 fault 8): by default its final full
state (ckpt/last.pt) and the generator snapshots `bench eval` recomputes metrics from, not the
fallback prev.pt; `none` keeps only the snapshots; `all` keeps everything. Pruning changes no number."""

from __future__ import annotations

import json

import pytest

from bench.store.rundir import read_jsonl

pytestmark = pytest.mark.usefixtures("one_thread")

ARGS = ["run", "--variants", "gan", "--arch", "mlp", "--steps", "40", "--evals", "2", "--batch-size", "8",
        "--n-eval", "64", "--set", "width=16", "--ckpt-every", "10", "--no-progress"]


def files(run):
    return sorted(p.name for p in (run / "ckpt").iterdir())


def only_run(folder):
    [run] = [p.parent for p in folder.glob("*/run.json")]
    return run


@pytest.mark.parametrize("keep, kept", [
    (None, ["G_step_0000020.pt", "G_step_0000040.pt", "checksums.json", "last.pt"]),  # default: last
    ("none", ["G_step_0000020.pt", "G_step_0000040.pt"]),
    ("all", ["G_step_0000020.pt", "G_step_0000040.pt", "checksums.json", "last.pt", "prev.pt"]),
])
def test_a_finished_run_keeps_what_was_asked(tmp_path, cli_inprocess, keep, kept):
    extra = ["--keep-checkpoints", keep] if keep else []
    code, _, err = cli_inprocess(*ARGS, "--results", str(tmp_path), "--name", "k", *extra)
    assert code == 0, err
    run = only_run(tmp_path / "k")
    assert files(run) == kept
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "done" and record["checkpoints_kept"] == (keep or "last")
    if "checksums.json" in kept:  # the record lists exactly the files left
        listed = [e["file"] for e in json.loads((run / "ckpt" / "checksums.json").read_text())["checkpoints"]]
        assert sorted(listed) == [f for f in kept if f in ("last.pt", "prev.pt")]


def test_pruning_changes_no_number_and_bench_eval_still_works(tmp_path, cli_inprocess):
    for keep in ("all", "none"):
        code, _, err = cli_inprocess(*ARGS, "--results", str(tmp_path), "--name", keep, "--keep-checkpoints", keep)
        assert code == 0, err
    kept, pruned = only_run(tmp_path / "all"), only_run(tmp_path / "none")

    def rows(run):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_jsonl(run / "metrics.jsonl")]

    assert rows(kept) == rows(pruned)
    code, out, err = cli_inprocess("eval", str(pruned), "--metrics", "w1_exact", "--step", "last")
    assert code == 0, err
    assert len(read_jsonl(pruned / "metrics.jsonl")) == 3  # a recomputed row from the kept G snapshot


def test_a_sweep_file_takes_keep_checkpoints(tmp_path):
    from bench.sweep.grid import plan, spec_from_mapping

    spec = spec_from_mapping({"name": "x", "variants": ["gan"], "archs": ["mlp"], "datasets": ["8gaussians"],
                              "seeds": [0], "steps": 10, "keep_checkpoints": "none"}, "x.yaml")
    assert [c.ckpt.keep for c in plan(spec)] == ["none"]
