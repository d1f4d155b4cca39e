"""Every docstring example of every voxnb module runs, the modules found by walking the package.

No list of modules to keep up to date: a new module's examples run as soon as it exists. The
counts are checked too, so that a runner which silently found nothing cannot pass: every example
not marked ``+SKIP`` must have been attempted, and an ``Examples`` section must hold examples.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import voxnb

MODULES = sorted(info.name for info in pkgutil.walk_packages(voxnb.__path__, "voxnb."))
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _docstrings(tests: list[doctest.DocTest]) -> list[tuple[str, str]]:
    return [(test.name, test.docstring or "") for test in tests]


def test_the_walk_finds_the_package():
    assert {"voxnb.transcript", "voxnb.cache", "voxnb.bias.stats", "voxnb.local.engine"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module, name)
    runnable = sum(1 for t in tests for ex in t.examples if not ex.options.get(doctest.SKIP, False))
    result = doctest.testmod(module, optionflags=FLAGS, report=True)
    assert result.failed == 0
    assert result.attempted == runnable
    for where, docstring in _docstrings(tests):
        if "Examples\n" in docstring:
            section = docstring[docstring.index("Examples\n") :]
            assert ">>>" in section, f"{where}: an Examples section without an example"
