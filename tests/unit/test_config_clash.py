"""bench.store.differences: what a resume compares (the device as resolved), and how a clash is named."""

from __future__ import annotations

from bench.store.rundir import differences

CONFIG = {"variant": "gan", "device": "auto", "schedule": {"steps": 20, "evals": 2, "eval_steps": [10, 20]},
          "hyper": {"lr_d": 2e-4}, "sets": {}}


def stored(device: str = "auto", trained_on: str = "cpu (2 cores, 1 threads)", **changes) -> dict:
    config = {**CONFIG, "device": device, **changes}
    return {"config": config, "device": trained_on}


def test_the_device_is_compared_as_resolved():
    asked_cpu = {**CONFIG, "device": "cpu"}
    assert differences(stored("auto"), asked_cpu, "cpu") == ""  # auto that picked the CPU is cpu
    assert differences(stored("cpu"), CONFIG, "cpu") == ""  # and back
    assert differences(stored("auto", "cuda (NVIDIA H200)"), CONFIG, "cpu") == "device cuda (stored) vs cpu (asked)"
    assert differences(stored("cuda", "cuda (NVIDIA H200)"), asked_cpu, None) == "device cuda (stored) vs cpu (asked)"


def test_a_submitting_host_that_cannot_resolve_auto_leaves_the_device_to_the_job():
    # a login node without a GPU submitting to GPU nodes: auto there is not auto here
    assert differences(stored("auto", "cuda (NVIDIA H200)"), CONFIG, None) == ""


def test_a_clash_names_each_setting_once_derived_keys_left_out():
    old = stored(schedule={"steps": 40, "evals": 2, "eval_steps": [20, 40]}, hyper={"lr_d": 1e-4})
    asked = {**CONFIG, "sets": {"lr_d": "2e-4"}}
    assert differences(old, asked, "cpu") == ("schedule.steps 40 (stored) vs 20 (asked); "
                                              "hyper.lr_d 0.0001 (stored) vs 0.0002 (asked)")
    many = {**CONFIG, "hyper": {f"k{i}": i for i in range(9)}}
    said = differences(stored(hyper={}), many, "cpu")
    assert said.count("(stored)") == 6 and said.endswith("; and 3 more")  # 9 in all
