"""The redesign changes no number: the golden `bench run` commands (tests.golden.runs) give the rows
recorded on the reference commit, bit for bit, timing keys aside.

Floats are compared exactly, so the comparison means something only where the recording was made with
the same torch on the same kind of CPU; elsewhere the test is skipped and says why (re-record there
with `python -m tests.golden.record` on the reference commit). The full-size cases are `slow`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.runs import CASES, environment, load, produce


def _param(case):
    marks = [pytest.mark.slow] if case.slow else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES.values()])
def test_the_same_commands_give_identical_rows(case, tmp_path):
    if case.needs and not Path(case.needs).exists():
        pytest.skip(f"{case.needs} is missing")
    golden = load(case)
    if golden["environment"]["torch"] != environment()["torch"] or \
            golden["environment"]["cpu_capability"] != environment()["cpu_capability"]:
        pytest.skip(f"recorded with {golden['environment']}, this is {environment()}: floats round differently")
    assert golden["args"] == list(case.args), "the case's command changed since it was recorded"
    runs = produce(case, tmp_path)
    assert sorted(runs) == sorted(golden["runs"])
    for run_id, expected in golden["runs"].items():
        got = runs[run_id]
        assert got["status"] == expected["status"], run_id
        assert [r["step"] for r in got["rows"]] == [r["step"] for r in expected["rows"]], run_id
        for row, want in zip(got["rows"], expected["rows"]):
            assert row == want, (run_id, row["step"], {k for k in {*row, *want} if row.get(k) != want.get(k)})
