"""The module layout rules of the worker redesign (docs/DEVELOPMENT.md, Map):

- no module of `stream/` outside the pure domain and the simulator over 300 lines;
- the composition root at most 150 lines;
- no project module other than the composition roots (the worker's, the simulator's) and the
  CLI entry imports more than 8 other project modules (a module that needs more is doing more
  than its name says).
"""

from __future__ import annotations

import ast
from pathlib import Path

STREAM = Path(__file__).resolve().parents[2] / "stream"
EXEMPT_FROM_LINES = ("domain", "simulator")
ROOT = STREAM / "worker" / "root.py"
# The worker's composition root, the CLI entry, and the simulator's own composition root
# (`generate` wires its ten subject modules together; the package is pure and separate).
MAY_IMPORT_MANY = {ROOT, STREAM / "cli" / "__init__.py", STREAM / "simulator" / "run.py"}


def modules() -> list[Path]:
    return sorted(STREAM.rglob("*.py"))


def project_imports(path: Path) -> set[str]:
    """The project modules a module imports (`from stream import x` counts `stream.x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != "stream" and not node.module.startswith("stream."):
                continue
            package = STREAM.parent / node.module.replace(".", "/")
            for alias in node.names:  # `from stream import shipped` imports stream.shipped
                is_module = (package / f"{alias.name}.py").exists() or (
                    package / alias.name).is_dir()
                found.add(f"{node.module}.{alias.name}" if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("stream."))
    return found


def test_the_rules_see_every_module() -> None:
    assert ROOT in modules() and len(modules()) > 40


def test_no_module_outside_the_domain_is_over_300_lines() -> None:
    long = {
        str(path.relative_to(STREAM)): n
        for path in modules()
        if path.relative_to(STREAM).parts[0] not in EXEMPT_FROM_LINES
        and (n := len(path.read_text().splitlines())) > 300
    }
    assert long == {}


def test_the_composition_root_is_small() -> None:
    assert len(ROOT.read_text().splitlines()) <= 150


def test_no_module_but_the_root_and_the_cli_entry_imports_more_than_8_others() -> None:
    many = {
        str(path.relative_to(STREAM)): len(imports)
        for path in modules()
        if path not in MAY_IMPORT_MANY and len(imports := project_imports(path)) > 8
    }
    assert many == {}
    assert len(project_imports(ROOT)) > 8  # the counting works: the root does import many
