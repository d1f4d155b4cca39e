"""Run one test file against chosen mutants, to check that new tests kill them before a mutmut run.

    python scripts/mutant_check.py tests/test_batch_jobs.py -k "result_line" \\
        voxnb.api.batch.xǁAsyncBatchJobǁ_take__mutmut_3 voxnb.export.x_regroup__mutmut_106

Each mutant runs in mutmut's mutated tree (``mutants/``, made by ``make mutation``) with
``MUTANT_UNDER_TEST`` set, the way mutmut runs it, including tests/mutation_selection.py's
choice of tests. The test file is this tree's version, put in place for the run (the conftest's
fixtures must be found) and put back after. The original runs first: a check whose original
fails proves nothing. Prints KILLED, SURVIVED or, when pytest ran no test, NO TESTS per mutant.
See docs/mutation.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"


def _run(test: str, expression: str, mutant: str) -> str:
    code = (
        "import sys; sys.path[0:0] = ['.', 'tests']; import pytest; sys.exit(pytest.main(['-q', '-x', "
        f"'-p', 'no:cacheprovider', '--rootdir', '.', '-c', 'pyproject.toml', {test!r}, '-k', {expression!r}]))"
    )
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant, "PYTHONPATH": ""}
    status = subprocess.run(
        [sys.executable, "-c", code], cwd=MUTANTS, env=env, capture_output=True
    ).returncode
    return {0: "SURVIVED", 1: "KILLED", 5: "NO TESTS"}.get(status, f"ERROR (pytest exit status {status})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("test", help="a test file, e.g. tests/test_export.py")
    parser.add_argument("-k", dest="expression", default="", help="pytest's -k: the tests to run")
    parser.add_argument("mutants", nargs="+", help="mutant names as mutmut prints them")
    args = parser.parse_args(argv)
    if not (MUTANTS / "voxnb").is_dir():
        raise SystemExit("no mutants/ yet: run `make mutation` once first")
    target = MUTANTS / args.test
    kept = target.with_name(target.name + ".kept")
    shutil.copy2(target, kept)
    try:
        shutil.copy2(ROOT / args.test, target)
        original = _run(args.test, args.expression, "none")
        if original != "SURVIVED":
            raise SystemExit(f"the original does not pass these tests ({original}): fix the tests first")
        for mutant in args.mutants:
            print(_run(args.test, args.expression, mutant), mutant, flush=True)
    finally:
        shutil.move(kept, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
