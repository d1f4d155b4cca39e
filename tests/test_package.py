"""The package frame: fast import, lazy public names, pyproject and environment.yml agree (doctests: test_doctests.py)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import voxnb

ROOT = Path(__file__).resolve().parents[1]
HEAVY = [
    "pandas",
    "numpy",
    "librosa",
    "matplotlib",
    "httpx",
    "faster_whisper",
    "ctranslate2",
    "starlette",
    "uvicorn",
    "websockets",
    "scipy",
    "sklearn",
    "torch",
    "anywidget",
    "ipywidgets",
    "IPython",
    "praatio",
    "dask",
    "distributed",
    "pyarrow",
    "fsspec",
    "bokeh",
]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_voxnb_loads_no_heavy_library():
    loaded = _modules_after("import voxnb")
    assert [m for m in HEAVY if m in loaded] == []


def test_reading_a_response_needs_no_pandas_until_a_table_is_asked_for():
    loaded = _modules_after(
        "import voxnb; t = voxnb.Transcript.from_response({'text': 'hi'}); t.text; repr(t)"
    )
    assert "pandas" not in loaded and "httpx" not in loaded and "matplotlib" not in loaded


def test_public_names_resolve():
    for name in voxnb.__all__:
        assert getattr(voxnb, name) is not None, name
    with pytest.raises(AttributeError):
        voxnb.no_such_name  # noqa: B018


def _name(requirement: str) -> str:
    name = re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra if not r.startswith("voxnb")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = {_name(p) for p in pip if not p.startswith("-")}
    assert not conda & pip, "listed twice"
    assert sorted(wanted - (conda | pip)) == [], "in pyproject.toml but not in environment.yml"
    assert sorted((conda | pip) - wanted) == [], "in environment.yml but not in pyproject.toml"


def test_makefile_and_ci_entry():
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    readme = (ROOT / "README.md").read_text()
    first_code = readme.split("```")[1]
    assert "make demo" in first_code and "make test" in first_code


def _stub_imports(path: Path) -> dict[str, str]:
    """name -> module it is imported from, in a stub file."""
    import ast

    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                found[alias.asname or alias.name] = (
                    node.module if node.module != "voxnb" else f"voxnb.{alias.name}"
                )
    return found


@pytest.mark.parametrize(
    "package", ["voxnb", "voxnb.bias", "voxnb.local", "voxnb.realtime", "voxnb.serve", "voxnb.text"]
)
def test_lazy_namespaces_have_stubs_type_checkers_can_read(package):
    """Each ``__init__.pyi`` names exactly the lazy exports, from the modules that define them."""
    module = importlib.import_module(package)
    stub = Path(module.__file__).with_suffix(".pyi")
    assert stub.exists(), f"run scripts/lazy_stubs.py to write {stub}"
    imported = _stub_imports(stub)
    assert set(imported) == set(module._EXPORTS), "run scripts/lazy_stubs.py"
    for name, source in module._EXPORTS.items():
        expected = (
            f"{package}.{name}"
            if source == ""
            else (source if source.startswith("voxnb.") else f"{package}.{source}")
        )
        if source == "":
            assert imported[name] in (expected, package), name
        else:
            assert imported[name] == expected, name
            assert getattr(importlib.import_module(expected), name) is getattr(module, name)
    assert (Path(voxnb.__file__).parent / "py.typed").exists()
