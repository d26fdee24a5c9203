"""The README says what the code does: the rows a user reads to interpret a number, and how to install."""

from __future__ import annotations

import re

from bench.metrics import METRICS
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def table_row(key: str) -> str:
    """The README's table row whose first cell is `key` (in backticks)."""
    rows = [line for line in README.splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"expected one README row for {key}, found {len(rows)}"
    return rows[0]


def section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert m, f"no '## {title}' section in the README"
    return m.group(1)


def test_critic_gap_row_says_how_batch_norm_is_evaluated_as_run_json_does():
    """Batch-norm critics are evaluated with each chunk's own statistics (bench.arch.norms.evaluation_mode),
    not in eval mode with running statistics: on a DCGAN critic the two readings differ several-fold."""
    row = table_row("critic_gap")
    protocol = METRICS.get("critic_gap").protocol  # what run.json records
    assert "statistics of each 1000-sample chunk" in protocol and "running statistics unused" in protocol
    assert "eval mode" not in row
    assert "chunk's own statistics" in row and "up to 1,000" in row and "running statistics neither used" in row


def test_install_section_says_how_to_get_the_cpu_build_before_the_package():
    install = section("Install")
    cpu = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
    assert cpu in install and "pip install -e ." in install
    commands = [line for line in install.splitlines() if line.startswith("pip install")]
    assert commands[0].startswith(cpu) and commands[1].startswith("pip install -e .")  # CPU build, then the package
    quick = README[: README.index("## Install")]  # the quick start at the top says it too, before step 1
    assert cpu in quick and quick.index(cpu) < quick.index("pip install -e .")
