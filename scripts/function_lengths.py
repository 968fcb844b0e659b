"""Function lengths of a source tree (STYLE.md item 9: median <= 15 lines, none over ~80): the longest functions
and the median, read with the standard library's `ast` (a function's lines run from its `def`, decorators
excluded, to its last line, docstring included; nested functions count on their own and inside their parent).

    python scripts/function_lengths.py                # src/rewardkit, the 5 longest
    python scripts/function_lengths.py src --top 10

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "src" / "rewardkit"


@dataclass(frozen=True)
class FunctionLength:
    """One function or method: its qualified name, where it starts and how many lines it spans."""

    name: str
    path: str
    line: int
    lines: int


def functions_in(path: Path, root: Path) -> list[FunctionLength]:
    """Every function and method defined in one file (nested ones included), with its line span."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[FunctionLength] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                span = child.end_lineno - child.lineno + 1
                found.append(FunctionLength(name, str(path.relative_to(root.parent)), child.lineno, span))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def function_lengths(root: Path) -> list[FunctionLength]:
    """All functions under `root`, longest first."""
    found = [item for path in sorted(root.rglob("*.py")) for item in functions_in(path, root)]
    return sorted(found, key=lambda item: (-item.lines, item.path, item.line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="Source directory to read.")
    parser.add_argument("--top", type=int, default=5, help="How many of the longest functions to list.")
    args = parser.parse_args()
    lengths = function_lengths(args.root.resolve())
    for item in lengths[: args.top]:
        print(f"{item.lines:4d} lines  {item.name}  ({item.path}:{item.line})")
    median = statistics.median(item.lines for item in lengths)
    print(f"{len(lengths)} functions, median {median:g} lines")
    longest = lengths[0]
    summary = {"functions": len(lengths), "median_lines": median, "longest": asdict(longest)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
