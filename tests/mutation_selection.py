"""Per-module test selection for mutation testing (``make mutation``, docs/mutation.md).

mutmut runs, for each mutant, the tests that called the mutated function. For a module with
an entry in ``[tool.voxnb.mutation.tests]`` of pyproject.toml this plugin keeps only that
module's own test files: a Transcript is built by most of the suite, but a mutant of the
readers should be killed by the readers' tests, and running the HTTP tests for each of
thousands of mutants would take hours on two cores. Outside a mutation run (no
``MUTANT_UNDER_TEST`` naming a mutant) it does nothing.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

import pytest

__all__ = ["pytest_collection_modifyitems"]

_DOCTESTS = "tests/test_doctests.py"


@cache
def _tests_by_module() -> dict[str, tuple[str, ...]]:
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            if sys.version_info >= (3, 11):
                from tomllib import loads
            else:  # mutmut brings toml on Python 3.10
                from toml import loads
            table = loads(pyproject.read_text(encoding="utf-8"))
            tests = table.get("tool", {}).get("voxnb", {}).get("mutation", {}).get("tests", {})
            # "voxnb/api/cache.py" -> "voxnb.api.cache", the prefix of its mutants' names
            return {path.removesuffix(".py").replace("/", "."): tuple(files) for path, files in tests.items()}
    return {}


def _module(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def _is_own(nodeid: str, module: str, files: tuple[str, ...]) -> bool:
    path = nodeid.split("::")[0]
    if path not in files:
        return False
    # the doctest walker runs one module's examples per test: only the mutated module's count
    return path != _DOCTESTS or nodeid.endswith(f"[{module}]")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:
        return
    module = _module(mutant)
    files = _tests_by_module().get(module)
    if files is None:
        return
    keep = [item for item in items if _is_own(item.nodeid, module, files)]
    dropped = [item for item in items if not _is_own(item.nodeid, module, files)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
