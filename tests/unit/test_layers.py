"""The package's shape: folders per tier with imports going one way, no module over 400 lines, and no
private name (`_x`) imported from another file. Every import counts, the lazy ones inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "bench").rglob("*.py"), *(ROOT / "variants").rglob("*.py")])

# Higher tiers may import lower ones, never the reverse; tiers on one level >= 3 do not import each
# other (the sweeps do not read reports, the reports do not submit). The bottom level's folders may
# use each other (a metric needs the data set's classifier, an architecture's critic kind).
LEVEL = {
    "__main__": 6,
    "cli": 5,
    "sweep": 4, "report": 4,
    "train": 3,
    "config": 2, "schedule": 2, "speed": 2, "eval_options": 2,
    "store": 1, "metrics": 1, "data": 1, "arch": 1, "variants": 1,
    "errors": 0, "registry": 0, "typecheck": 0, "__init__": 0, "options": 0,
}


def tier(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "variants":
        return "variants"
    if parts[0] != "bench":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path):
    """(line, imported module, names) for every absolute import in the file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def test_every_module_has_a_tier():
    unknown = {tier(module_name(p)) for p in SOURCES} - set(LEVEL)
    assert not unknown, f"modules outside the known tiers: {unknown}; add them to LEVEL with their level"


def test_imports_go_one_way():
    wrong = []
    for path in SOURCES:
        me = tier(module_name(path))
        for line, target, _ in imports(path):
            other = tier(target)
            if other is None or other == me:
                continue
            if LEVEL[other] > LEVEL[me] or (LEVEL[other] == LEVEL[me] >= 3):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({me}) imports {target} ({other})")
    assert not wrong, "imports against the tiers:\n" + "\n".join(wrong)


def test_nothing_below_the_cli_imports_it():
    # the same rule, spelled out for the one that matters most: a low module importing click commands
    assert not [p for p in SOURCES if tier(module_name(p)) != "cli" and tier(module_name(p)) != "__main__"
                and any(tier(t) == "cli" for _, t, _ in imports(p))]


@pytest.mark.parametrize("folder", ["bench", "variants", "tests"])
def test_no_private_name_is_imported_across_files(folder):
    ours = ("bench", "variants", "tests")
    wrong = [f"{p.relative_to(ROOT)}:{line} imports {name} from {target}"
             for p in sorted((ROOT / folder).rglob("*.py")) for line, target, names in imports(p)
             if target.split(".")[0] in ours for name in names if name.startswith("_") and not name.startswith("__")]
    assert not wrong, "private names imported across files (make them public or move the code):\n" + "\n".join(wrong)


def test_no_module_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in SOURCES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines (split them by idea): {long}"


def test_the_check_sees_an_upward_import(tmp_path):
    """The walker finds lazy imports inside functions (a check that sees nothing would pass anything)."""
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from bench.cli.app import cli\n")
    assert [(2, "bench.cli.app", ["cli"])] == list(imports(path))
