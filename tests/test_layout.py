"""Which package may import which (README "For developers"): the backend never imports the Blender
extension (its headless entry points live in tools/ and run in a child process), bpy never enters
backend/ or shared/, torch never enters blender_addon/ or shared/. Read from the sources (AST), so
the check needs neither bpy nor torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def imported_top_levels(path: Path) -> set[str]:
    """The top-level packages a module imports anywhere (module level or inside functions); relative
    imports are left out (they stay inside the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def python_files(folder: str) -> list[Path]:
    files = sorted(p for p in (REPO_ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)
    assert files, f"no Python files under {folder}/"
    return files


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("backend", {"blender_addon", "bpy"}),
        ("shared", {"blender_addon", "backend", "bpy", "torch", "tools"}),
        ("blender_addon", {"backend", "torch", "tools"}),
    ],
)
def test_package_does_not_import(folder, forbidden):
    offenders = {
        p.relative_to(REPO_ROOT).as_posix(): sorted(imported_top_levels(p) & forbidden) for p in python_files(folder)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_scan_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os\n\ndef f():\n    from blender_addon.capture import x\n    import bpy.types\n"
        "    from . import sibling\n",
        encoding="utf-8",
    )
    assert imported_top_levels(module) == {"os", "blender_addon", "bpy"}
