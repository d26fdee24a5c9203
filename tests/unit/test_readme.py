"""The README says what the code does: the rows a user reads to interpret a number, and how to install."""

from __future__ import annotations

import re

from bench.metrics import METRICS
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def table_row(key: str, text: str = README) -> str:
    """The table row of `text` (the README) whose first cell is `key` (in backticks)."""
    rows = [line for line in text.splitlines() if line.startswith(f"| `{key}` |")]
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


def builtin_variants() -> list[str]:
    import variants

    return [n for n in variants.VARIANTS.names() if variants.VARIANTS.get(n).__module__.startswith("variants.")]


def test_every_variant_is_in_the_readme_table_and_its_w1_claim_matches_the_code():
    import variants

    table = section("Variants")
    for name in builtin_variants():
        row = table_row(name, table)
        assert re.search(r"\(.*\d{4}\)", row), f"{name}: no row with its source in the table"
    m = re.search(r"estimate\s+\(((?:`[^`]+`,?\s*)+): yes;\s+((?:`[^`]+`,?\s*)+): no", table)
    assert m, "the Variants section no longer says which variants' critic gaps estimate W1"
    said_yes, said_no = (set(re.findall(r"`([^`]+)`", g)) for g in m.groups())
    yes = {n for n in builtin_variants() if variants.VARIANTS.get(n).estimates_wasserstein}
    assert said_yes == yes and said_no == set(builtin_variants()) - yes


def test_bench_list_variants_names_each_source_and_whether_its_gap_estimates_w1(cli_inprocess):
    import variants

    code, out, _ = cli_inprocess("list", "variants")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert list(lines) == variants.VARIANTS.names()
    for name, line in lines.items():
        cls = variants.VARIANTS.get(name)
        assert line.endswith(f"[critic gap estimates W1: {'yes' if cls.estimates_wasserstein else 'no'}]"), line
        assert re.search(r"\(.*\d{4}\)", line), f"{name}: no source on its line"
    assert {"wgan-lp", "ragan", "r1"} <= set(lines)
    assert lines["wgan-lp"].endswith("yes]") and lines["ragan"].endswith("no]") and lines["r1"].endswith("no]")
