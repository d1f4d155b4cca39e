"""Per-module test selection for mutation testing (``make mutation``, docs/mutation.md).

mutmut runs, for each mutant, the tests that called the mutated function. For a module with
an entry in ``[tool.voxnb.mutation.tests]`` of pyproject.toml this plugin keeps only that
module's own test files: a Transcript is built by most of the suite, but a mutant of the
readers should be killed by the readers' tests, and running the HTTP tests for each of
thousands of mutants would take hours on two cores. Tests marked ``slow`` (integration tests
of several seconds each) are left out for the same reason: a mutant only they would notice is
one the unit tests miss. Outside a mutation run (no ``MUTANT_UNDER_TEST``) it does nothing.

Two more things make a run shorter without changing a verdict:

- a mutant's tests run fastest first (the durations mutmut recorded), so the quick test that
  kills it runs before a slow property test that would have killed it too;
- the clean run mutmut makes before the mutants (every test that touches the modules to be
  mutated) keeps only those modules' own tests too, when scripts/mutation.py names the modules
  in ``VOXNB_MUTATION_MODULES``: the mutants never meet the other tests.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
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


@cache
def _durations() -> dict[str, float]:
    """Seconds each test took in mutmut's stats run (mutants/mutmut-stats.json), by node id."""
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        stats = folder / "mutmut-stats.json"
        if stats.is_file():
            try:
                return json.loads(stats.read_text(encoding="utf-8")).get("duration_by_test", {})
            except ValueError:  # being rewritten by mutmut: the order is only an optimisation
                return {}
    return {}


def _module(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def _is_own(nodeid: str, module: str, files: tuple[str, ...]) -> bool:
    path = nodeid.split("::")[0]
    if path not in files:
        return False
    # the doctest walker runs one module's examples per test: only the mutated module's count
    return path != _DOCTESTS or nodeid.endswith(f"[{module}]")


def _keep(items: list[pytest.Item], config: pytest.Config, own: Callable[[str], bool]) -> None:
    # tests marked slow (several seconds each: a thousand requests, a kernel restart, three servers)
    # are integration tests; a mutant that only they would notice is one the unit tests miss
    keep = [item for item in items if own(item.nodeid) and item.get_closest_marker("slow") is None]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST")
    if mutant == "":  # mutmut's clean run before the mutants
        modules = [m for m in os.environ.get("VOXNB_MUTATION_MODULES", "").split(",") if m]
        by_module = _tests_by_module()
        if modules:
            _keep(
                items,
                config,
                lambda nodeid: any(m not in by_module or _is_own(nodeid, m, by_module[m]) for m in modules),
            )
        return
    if mutant is None or "__mutmut_" not in mutant:
        return
    module = _module(mutant)
    files = _tests_by_module().get(module)
    _keep(items, config, lambda nodeid: files is None or _is_own(nodeid, module, files))
    durations = _durations()
    # stable: tests of equal (or unknown) duration keep pytest's order
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
