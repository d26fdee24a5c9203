"""`bench run` as a user runs it: files, values, determinism, resume, skip, and bad input."""

from __future__ import annotations

import json
import math

import pytest

from bench.config import RunOptions, plan_runs
from bench.train import loop
from bench.train.loop import run_one
from tests.conftest import read_rows

ALL = "gan,lsgan,wgan,wgan-gp,sngan,ebgan"
TINY = ["--steps", "4", "--evals", "2", "--batch-size", "16", "--set", "width=32", "--no-progress"]
SHORT_WGAN_WARMUP = ["--set", "warmup_gen_steps=1"]
KEYS = {"step", "wall_s", "critic_gap", "critic_gap_train", "d_loss", "g_loss", "w1_exact", "modes", "hq_frac"}


def test_all_six_variants_end_to_end(tmp_path, cli):
    res = cli("run", "--variants", ALL, "--arch", "mlp", "--results", str(tmp_path), "--name", "six", *TINY,
              *SHORT_WGAN_WARMUP)
    assert res.returncode == 0, res.stderr
    runs = sorted((tmp_path / "six").iterdir())
    assert sorted(r.name.split("-mlp-")[0] for r in runs) == sorted(ALL.split(","))
    for run in runs:
        record = json.loads((run / "run.json").read_text())
        assert record["status"] == "done"
        assert record["config"]["schedule"]["eval_steps"] == [2, 4]
        assert record["versions"]["torch"] and record["device"].startswith("cpu")
        assert "critic_gap" in record["protocol"] and "w1_exact" in record["protocol"]
        rows = read_rows(run)
        assert [r["step"] for r in rows] == [2, 4]
        for row in rows:
            assert KEYS <= set(row), run.name
            assert all(math.isfinite(row[k]) for k in KEYS), row
            assert 0 <= row["modes"] <= 8 and 0 <= row["hq_frac"] <= 1 and row["w1_exact"] > 0
        assert (run / "samples" / "step_0000004.png").stat().st_size > 1000
        assert (run / "ckpt" / "last.pt").exists()
    # the summary table names every run
    assert all(v in res.stdout for v in ALL.split(","))


def test_swissroll_reports_modes_missing_with_reason(tmp_path, cli):
    res = cli("run", "--variants", "gan", "--arch", "mlp", "--dataset", "swissroll", "--results", str(tmp_path),
              "--name", "roll", *TINY)
    assert res.returncode == 0, res.stderr
    (run,) = (tmp_path / "roll").iterdir()
    row = read_rows(run)[-1]
    assert row["modes"] is None and row["hq_frac"] is None
    assert "no discrete modes" in row["missing"]["modes"]
    assert math.isfinite(row["w1_exact"])


def without_timing(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_same_seed_same_metrics(tmp_path, cli):
    for name in ("a", "b"):
        res = cli("run", "--variants", "wgan-gp,ebgan", "--arch", "mlp", "--results", str(tmp_path), "--name", name,
                  "--seeds", "3", *TINY)
        assert res.returncode == 0, res.stderr
    for run in (tmp_path / "a").iterdir():
        assert without_timing(read_rows(run)) == without_timing(read_rows(tmp_path / "b" / run.name))
    other = cli("run", "--variants", "wgan-gp", "--arch", "mlp", "--results", str(tmp_path), "--name", "c",
                "--seeds", "4", *TINY)
    assert other.returncode == 0
    (run_c,) = (tmp_path / "c").iterdir()
    (run_a,) = [r for r in (tmp_path / "a").iterdir() if r.name.startswith("wgan-gp")]
    assert read_rows(run_c)[-1]["critic_gap"] != read_rows(run_a)[-1]["critic_gap"]


def test_finished_run_is_skipped_not_overwritten(tmp_path, cli):
    args = ("run", "--variants", "gan", "--arch", "mlp", "--results", str(tmp_path), "--name", "x", *TINY)
    assert cli(*args).returncode == 0
    (run,) = (tmp_path / "x").iterdir()
    before = (run / "run.json").read_text(), (run / "metrics.jsonl").read_text()
    again = cli(*args)
    assert again.returncode == 0 and "skipped" in again.stderr
    assert before == ((run / "run.json").read_text(), (run / "metrics.jsonl").read_text())
    forced = cli(*args, "--force")
    assert forced.returncode == 0
    assert len(list((tmp_path / "x").iterdir())) == 2  # the old run was moved aside, not deleted


def test_interrupted_run_resumes_to_identical_metrics(tmp_path, monkeypatch):
    (cfg,) = plan_runs(["wgan-gp"], "mlp", "8gaussians", [0], sets={"width": "32"},
                       options=RunOptions.of(steps=6, evals=3, batch_size=16))
    full = run_one(cfg, tmp_path, "full", progress=False)
    assert full.status == "done"

    calls = {"n": 0}
    real_evaluate = loop.evaluate

    def evaluate_then_die(member, snapshot):
        calls["n"] += 1
        if calls["n"] == 2:  # after the first eval's checkpoint, mid-way to the second
            raise KeyboardInterrupt
        return real_evaluate(member, snapshot)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_one(cfg, tmp_path, "cut", progress=False)
    monkeypatch.setattr(loop, "evaluate", real_evaluate)
    cut_dir = tmp_path / "cut" / cfg.run_id
    assert json.loads((cut_dir / "run.json").read_text())["status"] == "interrupted"  # Ctrl-C is no failure; it resumes
    assert [r["step"] for r in read_rows(cut_dir)] == [2]

    resumed = run_one(cfg, tmp_path, "cut", progress=False)
    assert resumed.action == "resume" and resumed.status == "done"
    assert without_timing(read_rows(cut_dir)) == without_timing(read_rows(tmp_path / "full" / cfg.run_id))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--variants", "wgan,nope", "--arch", "mlp"], "unknown variant 'nope'; choose one of:"),
        (["--variants", "gan", "--arch", "transformer"], "unknown arch 'transformer'; choose one of: mlp"),
        (["--variants", "gan", "--arch", "mlp", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["--variants", "gan", "--arch", "mlp", "--steps", "0"], "--steps 0: must be >= 1"),
        (["--variants", "gan", "--arch", "mlp", "--batch-size", "-1"], "--batch-size -1: must be >= 2"),
        (["--variants", "gan", "--arch", "mlp", "--set", "clip"], "malformed --set 'clip': expected KEY=VALUE"),
        (["--variants", "gan", "--arch", "mlp", "--set", "clip=0.1"], "--set clip: no variant (gan) or arch (mlp) given"),
        (["--variants", "wgan", "--arch", "mlp", "--set", "clip=-1"], "clip=-1.0: must be > 0"),
        (["--variants", "gan", "--arch", "mlp", "--set", "lr_d=0"], "lr_d=0.0: must be > 0"),
        (["--variants", "gan", "--arch", "mlp", "--set", "width=wide"], "takes a int"),
        (["--variants", "gan", "--arch", "mlp", "--seeds", "3-1"], "malformed --seeds"),
        (["--variants", "gan"], "Missing option '--arch'"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, cli_inprocess, args, needle):
    code, _, err = cli_inprocess("run", *args, "--results", str(tmp_path / "res"))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error:"), err
    assert needle in lines[0]
    assert not (tmp_path / "res").exists()


def test_bad_input_from_a_shell(tmp_path, cli):
    res = cli("run", "--variants", "nope", "--arch", "mlp", "--results", str(tmp_path / "res"))
    assert res.returncode == 2
    assert res.stderr.strip() == ("bench: error: unknown variant 'nope'; choose one of: ebgan, gan, lsgan, r1, ragan, "
                                  "sngan, wgan, wgan-gp, wgan-lp")
    assert not (tmp_path / "res").exists()


def test_results_path_that_is_a_file(tmp_path, cli_inprocess):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = cli_inprocess("run", "--variants", "gan", "--arch", "mlp", "--results", str(f), *TINY)
    assert code == 2 and "is a file, not a directory" in err


def test_list_and_help(cli_inprocess):
    code, out, _ = cli_inprocess("list", "variants")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["ebgan", "gan", "lsgan", "r1", "ragan", "sngan", "wgan",
                                                              "wgan-gp", "wgan-lp"]
    assert cli_inprocess("list")[1].count(":") >= 4
    code, helptext, _ = cli_inprocess("run", "--help")
    for option in ["--variants", "--arch", "--dataset", "--schedule", "--steps", "--batch-size", "--evals", "--seeds",
                   "--device", "--results", "--name", "--set", "--force"]:
        assert option in helptext
