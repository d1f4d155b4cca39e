"""Write the ``__init__.pyi`` stubs that show type checkers and IDEs voxnb's lazy namespaces.

Each package that imports its public names on first use (``voxnb``, ``voxnb.bias``...) declares
them in ``_EXPORTS``; its stub re-exports the same names from the modules that define them.
``tests/test_package.py`` fails when a stub names other imports than ``_EXPORTS``: run this
script to rewrite them (then ``ruff check --fix`` and ``ruff format`` tidy them).

    python scripts/lazy_stubs.py
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

PACKAGES = ("voxnb", "voxnb.bias", "voxnb.local", "voxnb.realtime", "voxnb.serve", "voxnb.text")


def stub(package: str) -> str:
    """The text of *package*'s ``__init__.pyi``."""
    module = importlib.import_module(package)
    exports: dict[str, str] = module._EXPORTS
    lines = [
        f'"""Type information for the lazy namespace of ``{package}`` (written by scripts/lazy_stubs.py)."""',
        "",
    ]
    submodules = sorted(name for name, source in exports.items() if source == "")
    if submodules:
        lines.append(f"from {package} import {', '.join(f'{n} as {n}' for n in submodules)}")
    by_module: dict[str, list[str]] = {}
    for name, source in exports.items():
        if source:
            absolute = source if source.startswith("voxnb.") else f"{package}.{source}"
            by_module.setdefault(absolute, []).append(name)
    for source in sorted(by_module):
        names = ", ".join(f"{n} as {n}" for n in sorted(by_module[source]))
        lines.append(f"from {source} import {names}")
    lines.append("")
    if package == "voxnb":
        lines.append("__version__: str")
    lines.append("__all__: list[str]")
    return "\n".join(lines) + "\n"


def stub_path(package: str) -> Path:
    return Path(importlib.import_module(package).__file__).with_suffix(".pyi")


def main() -> int:
    for package in PACKAGES:
        path = stub_path(package)
        path.write_text(stub(package))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
