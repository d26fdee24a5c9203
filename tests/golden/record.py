"""Record the golden rows: `python -m tests.golden.record [CASE ...]` (all cases by default).

Run it only on a commit whose numbers are the reference (issue 16 recorded them on f9d53fb, before
the training code was reorganized); it overwrites tests/golden/data/<case>.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.golden.runs import CASES, DATA, environment, produce


def main(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for name in names or list(CASES):
        case = CASES[name]
        if case.needs and not Path(case.needs).exists():
            print(f"{name}: skipped ({case.needs} is missing)", flush=True)
            continue
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            runs = produce(case, Path(tmp))
        doc = {"case": name, "args": list(case.args), "environment": environment(), "runs": runs}
        (DATA / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{name}: {len(runs)} runs, {sum(len(r['rows']) for r in runs.values())} rows, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
