"""Options from one source: every command's options say what they do and what they default to,
`bench sweep` offers what `bench run` does, and a sweep-file key plans the same runs as its flag."""

from __future__ import annotations

import click
import pytest
import yaml
from click.testing import CliRunner

from bench.cli.app import cli
from bench.config import OPTIONS, RunOptions
from bench.options import build, flat
from bench.sweep.grid import plan as REAL_PLAN

# `bench run` options a sweep has no use for, and why
RUN_ONLY = {"--progress": "sweep jobs write logs, not progress bars", "--no-progress": "the same switch"}


def commands(group: click.Group = cli, prefix: str = ""):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def flags(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}


@pytest.mark.parametrize("name,cmd", list(commands()), ids=[n for n, _ in commands()])
def test_every_option_has_help_and_shows_its_default(name, cmd):
    ctx = click.Context(cmd, info_name=name)
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.name == "help":
            continue
        assert param.help, f"bench {name} {param.opts[0]} has no help text"
        _, text = param.get_help_record(ctx)
        if param.required or (param.is_flag and not param.secondary_opts and not param.default):
            continue  # nothing to show: the user must give it, or a switch that is off unless given
        assert "default:" in text, f"bench {name} {param.opts[0]} does not show its default: {text!r}"


def test_bench_sweep_offers_every_bench_run_option():
    run, sweep = flags(cli.commands["run"]), flags(cli.commands["sweep"])
    missing = sorted(run - sweep - set(RUN_ONLY))
    assert not missing, f"bench sweep lacks these bench run options: {missing}"


def test_every_run_option_is_a_sweep_key_and_a_flag_of_run_and_sweep():
    from bench.sweep.grid import SPEC_KEYS

    for opt in OPTIONS:
        if "sweep" in opt.meta.commands:
            assert opt.key in SPEC_KEYS
            assert opt.flag in flags(cli.commands["sweep"])
        if "run" in opt.meta.commands:
            assert opt.flag in flags(cli.commands["run"])


def test_options_round_trip_through_the_dataclasses():
    values = {"steps": 7, "pack": 2, "ckpt_every": 5, "keep_checkpoints": "all", "w_indep_steps": 3, "device": "cpu"}
    opts = RunOptions.of(**values)
    assert (opts.schedule.steps, opts.speed.pack, opts.ckpt.every_steps, opts.ckpt.keep) == (7, 2, 5, "all")
    assert {k: v for k, v in flat(opts).items() if k in values} == values
    assert build(RunOptions, {}) == RunOptions()
    with pytest.raises(TypeError, match="stepz"):
        RunOptions.of(stepz=3)


# One example value per option that differs from its default (so the key is really read).
EXAMPLES = {
    "steps": 7, "batch_size": 8, "evals": 1, "n_eval": 64, "device": "cpu", "data_root": "DATA", "download": True,
    "compile": "none", "pack": 2, "tf32": True, "ckpt_every": 5, "ckpt_every_s": 30.0, "keep_checkpoints": "all",
    "extractor": "inception", "inception_weights": "DATA/missing.pth", "w_indep_steps": 5, "n_modes": 100,
    "pictures": "all",
}


def test_every_sweep_key_has_an_example():
    assert {o.key for o in OPTIONS if "sweep" in o.meta.commands} == set(EXAMPLES)


def _dry_run(tmp_path, monkeypatch, args: list[str], sweep: dict):
    """The outcome of `bench sweep --dry-run`: exit code, output and the planned configs."""
    import bench.sweep.grid as grid

    planned = []

    def recording(spec):
        runs = REAL_PLAN(spec)
        planned.extend(runs)
        return runs

    monkeypatch.setattr(grid, "plan", recording)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(sweep))
    res = CliRunner().invoke(cli, ["sweep", str(path), "--dry-run", "--results", str(tmp_path / "r"), *args])
    return res.exit_code, res.output, planned


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_a_sweep_key_and_its_flag_plan_the_same_runs(key, tmp_path, monkeypatch):
    (tmp_path / "DATA").mkdir()
    monkeypatch.chdir(tmp_path)
    base = {"name": "s", "variants": ["gan"], "archs": ["mlp"], "datasets": ["8gaussians"], "seeds": "0-1"}
    value = EXAMPLES[key]
    flag = "--" + key.replace("_", "-")
    args = [flag] if value is True else [flag, str(value)]
    if key == "inception_weights":  # read by the inception extractor only
        base["extractor"] = "inception"
    by_flag = _dry_run(tmp_path, monkeypatch, args, base)
    by_key = _dry_run(tmp_path, monkeypatch, [], {**base, key: value})
    assert by_flag[:2] == by_key[:2]
    assert [c.run_id for c in by_flag[2]] == [c.run_id for c in by_key[2]]
    assert by_flag[2] == by_key[2]  # the whole config: speed, checkpoint policy and evaluation too
    if by_key[0] == 0:
        assert by_key[2] and by_key[2] != _dry_run(tmp_path, monkeypatch, [], base)[2], f"{key} was not read"


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_bench_run_hands_each_flag_to_the_plan_as_its_field(key, monkeypatch):
    """`bench run --FLAG VALUE` reaches plan_runs as RunOptions.of(KEY=VALUE) (the CLI's text parsed to the
    field's type, e.g. --pictures all and --pictures 5)."""
    import bench.config

    seen = []

    def stop(*args, options, **kwargs):
        seen.append(options)
        raise SystemExit(0)

    monkeypatch.setattr(bench.config, "plan_runs", stop)
    value = EXAMPLES[key]
    flag = "--" + key.replace("_", "-")
    for given in ([value] if key != "pictures" else [value, 5]):
        args = ["run", "--variants", "gan", "--arch", "mlp", flag] + ([] if given is True else [str(given)])
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert seen.pop() == RunOptions.of(**{key: given})
