"""Attach a lazy public namespace to a package (PEP 562), so importing it stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def attach(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for *package*.

    *exports* maps each public name to the submodule (relative to *package*, or absolute when it
    starts with ``voxnb.``) that defines it; a name mapped to ``""`` is the submodule of that name
    itself.
    """

    def __getattr__(name: str) -> Any:
        try:
            module_name = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        if module_name == "":
            value = importlib.import_module(f"{package}.{name}")
        else:
            module = module_name if module_name.startswith("voxnb.") else f"{package}.{module_name}"
            value = getattr(importlib.import_module(module), name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
