"""SLURM profiles: the shipped files load, flags override them key by key, mistakes are one-line errors,
and the resources become the submitit parameters (hence the sbatch options) they name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.sweep.profile import DEFAULT_TIME_MIN, LOCAL_TIME_MIN, load_profile, parse_time

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text, minutes", [
    (90, 90), ("90", 90), ("4:00:00", 240), ("0:30:00", 30), ("1-12:00:00", 2160), ("0:00:30", 1), ("0:10:01", 11),
])
def test_time_formats(text, minutes):
    assert parse_time(text) == minutes


@pytest.mark.parametrize("text", ["4h", "1:5", "0", "0:00:00", "1:60:00", ""])
def test_bad_times(text):
    with pytest.raises(ValueError, match="time="):
        parse_time(text)


def test_shipped_profiles_load():
    names = sorted(p.stem for p in (REPO / "slurm" / "profiles").glob("*.yaml"))
    assert {"local", "gpu"} <= set(names)
    for name in names:
        load_profile(name)
    gpu = load_profile("gpu")
    assert (gpu.partition, gpu.gpus_per_task, gpu.cpus_per_task, gpu.mem_gb, gpu.time_min("slurm")) == \
        ("gpu", 1, 8, 32, 240)


def test_submitit_parameters_and_flag_overrides():
    p = load_profile("gpu", {"partition": "a100", "time": "0:20:00", "account": "lab", "qos": None,
                             "array_parallelism": 4})
    assert p.submitit_parameters("slurm") == {
        "timeout_min": 20, "cpus_per_task": 8, "gpus_per_node": 1, "tasks_per_node": 1, "nodes": 1, "mem_gb": 32,
        "slurm_partition": "a100", "slurm_account": "lab", "slurm_array_parallelism": 4,
    }
    # the local executor takes only what it understands
    assert set(p.submitit_parameters("local")) == {"timeout_min", "cpus_per_task", "gpus_per_node",
                                                   "tasks_per_node", "nodes"}


def test_defaults_without_a_profile():
    p = load_profile(None)
    assert p.time_min("slurm") == DEFAULT_TIME_MIN and p.time_min("local") == LOCAL_TIME_MIN
    assert "slurm_partition" not in p.submitit_parameters("slurm")  # the cluster's default partition


def test_extra_sbatch_options_pass_through(tmp_path):
    path = tmp_path / "res.yaml"
    path.write_text("partition: short\nsbatch: {reservation: gans}\nsetup: ['module load cuda']\ntime: 45\n")
    p = load_profile(str(path))
    assert p.name == "res" and p.setup == ("module load cuda",) and p.time_min("slurm") == 45
    assert p.submitit_parameters("slurm")["slurm_additional_parameters"] == {"reservation": "gans"}


@pytest.mark.parametrize("text, message", [
    ("partiton: gpu\n", "unknown key 'partiton'; valid keys: partition, gpus_per_task"),
    ("gpus_per_task: one\n", "gpus_per_task='one' has the wrong type; expected an integer"),
    ("mem_gb: true\n", "mem_gb=True has the wrong type; expected a number (or null)"),
    ("setup: module load cuda\n", "setup='module load cuda' has the wrong type; expected a list of text lines"),
    ("cpus_per_task: 0\n", "cpus_per_task=0: must be >= 1"),
    ("time: 4h\n", "time='4h': use minutes, H:MM:SS or D-HH:MM:SS"),
    ("partition: [a, b\n", "not valid YAML"),
    ("- gpu\n", "expected a mapping"),
])
def test_profile_mistakes(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BenchError) as e:
        load_profile(str(path))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(BenchError, match=r"no slurm/profiles/nope.yaml; choose one of: .*gpu.*local"):
        load_profile("nope")


def test_bad_flag_override():
    with pytest.raises(BenchError, match="gpus_per_task=-1: must be >= 0"):
        load_profile("local", {"gpus_per_task": -1})
