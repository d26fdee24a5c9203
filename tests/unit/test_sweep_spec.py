"""Sweep grids: YAML files and flags give the same runs with stable ids; every mistake is one BenchError
before anything is written; `bench sweep --dry-run` prints the runs and the resources."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.arch import ARCHS
from bench.cli.app import cli
from bench.config import OPTIONS, RunOptions, plan_runs
from bench.errors import BenchError
from bench.sweep.grid import SPEC_KEYS, load_sweep_file, plan, spec_from_mapping

REPO = Path(__file__).resolve().parents[2]
TOY = {"variants": ["gan", "wgan"], "archs": ["mlp"], "datasets": ["8gaussians", "25gaussians"], "seeds": "0-2",
       "steps": 20, "evals": 1}


def write(tmp_path: Path, text: str, name: str = "toy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_file_expands_to_the_grid_with_the_ids_bench_run_would_use(tmp_path):
    path = write(tmp_path, "variants: [gan, wgan]\narchs: [mlp]\ndatasets: [8gaussians, 25gaussians]\n"
                           "seeds: 0-2\nsteps: 20\nevals: 1\nset: {width: 32}\n")
    spec = spec_from_mapping(load_sweep_file(path), str(path))
    assert spec.name == "toy"  # from the file name
    runs = plan(spec)
    assert len(runs) == 2 * 2 * 3
    expected = [cfg.run_id for ds in ("8gaussians", "25gaussians")
                for cfg in plan_runs(["gan", "wgan"], "mlp", ds, [0, 1, 2], "quick", sets={"width": "32"},
                                     options=RunOptions.of(steps=20, evals=1))]
    assert sorted(r.run_id for r in runs) == sorted(expected)
    # stable: planning again gives the same ids in the same order
    assert [r.run_id for r in plan(spec)] == [r.run_id for r in runs]


def test_flags_and_yaml_agree(tmp_path):
    from_yaml = spec_from_mapping({**load_sweep_file(write(tmp_path, "variants: gan,wgan\narchs: mlp\n"
                                                                      "datasets: [8gaussians]\nseeds: [0, 1]\n")),
                                   "name": "x"}, "file")
    from_flags = spec_from_mapping({"name": "x", "variants": "gan,wgan", "archs": "mlp", "datasets": "8gaussians",
                                    "seeds": "0-1"}, "flags")
    assert [r.run_id for r in plan(from_yaml)] == [r.run_id for r in plan(from_flags)]


def test_overrides_are_one_more_grid_axis():
    spec = spec_from_mapping({**TOY, "name": "x", "datasets": ["8gaussians"], "seeds": [0],
                              "set": {"width": 32}, "overrides": [{}, {"lr_d": 1e-3}, {"width": 16}]}, "t")
    runs = plan(spec)
    assert len(runs) == 2 * 3
    assert len({r.run_id for r in runs}) == 6
    lr_d = {(r.variant, r.hyper.lr_d, r.arch_params.width) for r in runs}
    assert ("gan", 1e-3, 32) in lr_d and ("wgan", 1e-3, 32) in lr_d and ("gan", 2e-4, 16) in lr_d


def test_an_override_entry_with_variants_applies_to_those_variants_only():
    """The study's case: every variant at its defaults, and wgan-gp once more at gan_toy.py's setting."""
    spec = spec_from_mapping({**TOY, "name": "x", "variants": ["gan", "wgan", "wgan-gp"], "datasets": ["8gaussians"],
                              "seeds": [0, 1], "set": {"width": 32},
                              "overrides": [{}, {"variants": ["wgan-gp"], "gp_weight": 0.1, "beta1": 0.5},
                                            {"variants": "wgan,wgan-gp", "lr_d": 1e-3}]}, "t")
    runs = plan(spec)
    settings = sorted((r.variant, r.seed, r.hyper.lr_d, getattr(r.hyper, "gp_weight", None), r.hyper.beta1)
                      for r in runs)
    assert len(runs) == len({r.run_id for r in runs}) == 2 * (3 + 1 + 2)
    assert ("wgan-gp", 0, 1e-4, 0.1, 0.5) in settings and ("wgan-gp", 0, 1e-4, 10.0, 0.0) in settings
    assert ("wgan", 1, 1e-3, None, 0.5) in settings and ("wgan-gp", 1, 1e-3, 10.0, 0.0) in settings
    assert [r for r in runs if r.variant == "gan"] == [r for r in runs if r.variant == "gan" and r.hyper.lr_d == 2e-4]
    assert all(r.arch_params.width == 32 for r in runs)  # the sweep's `set` holds for every entry
    # the default entry gives the ids `bench run` gives; the restricted ones the ids of `bench run --set ...`
    ref, = plan_runs(["wgan-gp"], "mlp", "8gaussians", [0], "quick",
                     sets={"width": "32", "gp_weight": "0.1", "beta1": "0.5"},
                     options=RunOptions.of(steps=20, evals=1))
    assert ref.run_id in {r.run_id for r in runs}
    # written back as given (sweep.json)
    assert spec.to_dict()["overrides"][1] == {"variants": ["wgan-gp"], "gp_weight": "0.1", "beta1": "0.5"}


@pytest.mark.parametrize("values, message", [
    ({"archz": ["mlp"]}, "unknown key 'archz'"),
    ({"steps": "ten"}, "steps='ten' has the wrong type; expected an integer"),
    ({"steps": True}, "steps=True has the wrong type"),
    ({"device": 3}, "device=3 has the wrong type; expected text"),
    ({"variants": []}, "no variants"),
    ({"seeds": "4-2"}, "sweep.yaml: seeds '4-2' is malformed"),  # the file and its key, not a flag (issue 17)
    ({"seeds": [0, "a"]}, "seeds must be a list of integers"),
    ({"archs": "nope"}, "unknown arch 'nope'"),
    ({"variants": ["gan", "nope"]}, "unknown variant 'nope'"),
    ({"name": "a/b"}, "must be a plain folder name"),
    ({"set": {"widht": 3}}, "set widht: no variant (gan, wgan) or arch (mlp) given has this setting"),
    ({"set": {"width": "wide"}}, "width takes a int"),
    ({"set": {"width": [1, 2]}}, "a setting takes one value"),
    ({"overrides": {"width": 3}}, "overrides must be a list of mappings"),
    ({"overrides": [{"variants": ["sngan"], "clip": 0.1}]}, "variants 'sngan' is not among the sweep's variants"),
    ({"overrides": [{"variants": ["gan"], "clip": 0.1}]}, "set clip: no variant (gan) or arch (mlp)"),
    ({"overrides": [{"variants": [], "clip": 0.1}]}, "overrides: variants must list variant names"),
    ({"overrides": [{"variants": [3], "clip": 0.1}]}, "overrides: variants must list variant names"),
    ({"schedule": "slow"}, "unknown schedule 'slow'"),
])
def test_mistakes_are_one_line_errors(values, message):
    with pytest.raises(BenchError) as e:
        plan(spec_from_mapping({**TOY, "name": "x", **values}, "sweep.yaml"))
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_valid_keys_are_named_and_follow_the_run_options():
    with pytest.raises(BenchError, match="valid keys: name, variants, archs, datasets, seeds, schedule, set"):
        spec_from_mapping({**TOY, "name": "x", "gpus": 1}, "f")
    # every run option (a field of bench.config.RunOptions) is a sweep key, so a new option slots in
    assert {"steps", "batch_size", "evals", "device", "keep_checkpoints"} <= set(SPEC_KEYS)
    assert {o.key for o in OPTIONS} <= set(SPEC_KEYS)


def test_yaml_is_read_safely(tmp_path):
    path = write(tmp_path, "variants: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(BenchError, match="not valid YAML"):
        load_sweep_file(path)
    with pytest.raises(BenchError, match="expected a mapping"):
        load_sweep_file(write(tmp_path, "- gan\n- wgan\n", "list.yaml"))
    with pytest.raises(BenchError, match="not found"):
        load_sweep_file(tmp_path / "missing.yaml")


def test_shipped_wgan_paper_sweep():
    path = REPO / "sweeps" / "wgan-paper-archs.yaml"
    values = load_sweep_file(path)
    spec = spec_from_mapping(values, str(path))
    assert spec.name == "wgan-paper-archs"
    assert spec.archs == ["mlp", "dcgan", "dcgan-nobn"] and spec.datasets == ["fashion-mnist"]
    assert spec.seeds == [0, 1, 2]
    if "dcgan" not in ARCHS.names():
        pytest.skip("dcgan/fashion-mnist come with the image data sets; the full expansion is checked once they exist")
    runs = plan(spec)
    assert len(runs) == len(spec.variants) * 3 * 3


@pytest.mark.parametrize("name, runs", [("study-toy", 6 * 2 * 5 + 2 * 2 * 5), ("study-fmnist-mlp", 6 * 5),
                                        ("study-archs", 9 * 4 * 5)])
def test_shipped_study_sweeps(name, runs):
    path = REPO / "sweeps" / f"{name}.yaml"
    spec = spec_from_mapping(load_sweep_file(path), str(path))
    planned = plan(spec)
    assert spec.name == name and len(planned) == len({r.run_id for r in planned}) == runs
    assert spec.seeds == [0, 1, 2, 3, 4]
    # the small studies: the six variants registered when they were defined and started (wgan-lp, ragan and
    # r1 came later); the GPU study, not yet run: every registered variant. Defaults, and second settings for
    # wgan and wgan-gp only.
    from variants import VARIANTS
    study = {"gan", "lsgan", "wgan", "wgan-gp", "sngan", "ebgan"} if name != "study-archs" else set(VARIANTS.names())
    assert set(spec.variants) == study and study <= set(VARIANTS.names())
    seconds = {r.variant for r in planned if r.sets}
    assert seconds == ({"wgan", "wgan-gp"} if name == "study-toy" else set())


# -- the command -----------------------------------------------------------------------------------------
def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def test_dry_run_prints_runs_and_resources_and_writes_nothing(tmp_path):
    res = invoke("sweep", "--variants", "gan,wgan", "--archs", "mlp", "--datasets", "8gaussians", "--seeds", "0-1",
                 "--steps", "20", "--name", "dry", "--results", str(tmp_path / "results"), "--profile", "local",
                 "--time", "2:00:00", "--dry-run")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("sweep dry: 4 runs (2 variants x 1 arch x 1 data set x 2 seeds)")
    assert sum(line.strip().startswith("new ") for line in lines) == 4
    assert "would submit 4 runs as one SLURM job array" in res.output
    # the profile's resources, with the flag's time limit
    assert "resources: profile local: partition local, 1 cpu, 0 gpu, mem 2 GB, time 2:00:00" in res.output
    assert not (tmp_path / "results").exists()


def test_a_sweep_from_flags_needs_a_name(tmp_path):
    res = invoke("sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--seeds", "0",
                 "--results", str(tmp_path), "--dry-run")
    assert res.exit_code != 0
    assert isinstance(res.exception, BenchError) and "needs --name NAME" in str(res.exception)


def test_flags_override_the_file(tmp_path):
    path = write(tmp_path, "variants: [gan, wgan]\narchs: [mlp]\ndatasets: [8gaussians]\nseeds: 0-4\n")
    res = invoke("sweep", str(path), "--seeds", "7", "--variants", "gan", "--results", str(tmp_path), "--dry-run")
    assert res.exit_code == 0, res.output
    assert "sweep toy: 1 run " in res.output and "gan-mlp-8gaussians-s7" in res.output


def test_slurm_executor_without_sbatch_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    res = invoke("sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--seeds", "0",
                 "--name", "x", "--results", str(tmp_path / "results"))
    assert isinstance(res.exception, BenchError)
    assert "there is no sbatch on PATH" in str(res.exception) and "--executor local" in str(res.exception)
    assert not (tmp_path / "results").exists()
