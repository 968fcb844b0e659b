"""The package's import graph points only down: commands -> training / evaluation / serving -> families -> inference
-> models / data -> protocol (DESIGN.md). Every `rewardkit` import of every module is read, function-level ones too."""

from __future__ import annotations

import ast
from pathlib import Path

import rewardkit

PACKAGE_ROOT = Path(rewardkit.__file__).parent

# Layer of each top-level part of the package; a module may import its own part or any part of a lower layer.
LAYERS = {
    "errors": 0,
    "cpu_threads": 0,
    "vocabulary": 0,
    "machine_errors": 0,
    "protocol": 0,
    "metrics": 0,
    "data": 1,
    "models": 1,
    "inference": 2,
    "bench_record": 2,
    "families": 3,
    "evaluation": 4,
    "serving": 4,
    "training": 4,
    "commands": 5,
    "cli": 6,
    "__main__": 7,
}


def part_of(module: str) -> str:
    """`rewardkit.data.readers` -> `data`."""
    return module.split(".")[1]


def imported_parts(path: Path) -> set[str]:
    """The top-level parts of rewardkit a source file imports, wherever the import statement stands."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rewardkit."):
            parts.add(part_of(node.module))
        elif isinstance(node, ast.Import):
            parts.update(part_of(alias.name) for alias in node.names if alias.name.startswith("rewardkit."))
    return parts


def source_files() -> list[tuple[str, Path]]:
    """(part, path) for every module below the package root (the package's own __init__ excluded)."""
    files = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT)
        if relative.parts == ("__init__.py",):
            continue
        files.append((relative.parts[0].removesuffix(".py"), path))
    return files


def test_every_part_of_the_package_has_a_layer():
    assert {part for part, _ in source_files()} == set(LAYERS)


def test_imports_only_point_down():
    upward = [
        f"{path.relative_to(PACKAGE_ROOT)} ({part}, layer {LAYERS[part]}) imports {target} (layer {LAYERS[target]})"
        for part, path in source_files()
        for target in imported_parts(path)
        if target != part and LAYERS[target] >= LAYERS[part]
    ]
    assert upward == []


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from rewardkit.evaluation.report import write_report\n")
    assert imported_parts(module) == {"evaluation"}
