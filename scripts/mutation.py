"""Mutation testing of voxnb's core modules with mutmut, and a per-module report.

    python scripts/mutation.py               # run every mutant in scope, then report
    python scripts/mutation.py --unkilled    # re-run only the mutants the last run did not kill
    python scripts/mutation.py --report      # report on the last run without running anything
    python scripts/mutation.py --equivalents # re-run the mutants listed as equivalent (they must survive)
    python scripts/mutation.py --module request --module readers   # only these modules (any mode)

The modules are mutmut's ``only_mutate`` in pyproject.toml; ``[tool.voxnb.mutation]`` narrows a
module to some functions (``scope``) and to its own test files (``tests``, applied by
tests/mutation_selection.py), and lists the surviving mutants that are equivalent to the
original (``equivalent``, each with its reason). The report (per module: mutants, not run,
killed, survived, equivalent, timeout, no tests, and the score over the mutants run) is printed
and written to ``mutants/report.md``; the exit status is 1 when a module's score is under the
goal or some of its mutants were not run.
See docs/mutation.md.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    from tomllib import loads as _toml
else:  # mutmut brings toml on Python 3.10
    from toml import loads as _toml

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.90


def _config() -> dict:
    table = _toml((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    voxnb = table.get("voxnb", {}).get("mutation", {})
    return {
        "modules": table["mutmut"]["only_mutate"],
        "scope": voxnb.get("scope", {}),
        "equivalent": voxnb.get("equivalent", {}),
    }


def _select(config: dict, wanted: list[str]) -> dict:
    """The config narrowed to the modules named (``request``, ``api/batch``, ``voxnb/cache.py``)."""
    if not wanted:
        return config
    chosen = []
    for name in wanted:
        path = name if name.endswith(".py") else f"{name}.py"
        matches = [m for m in config["modules"] if m == path or m.endswith(f"/{path}")]
        if len(matches) != 1:
            raise SystemExit(f"--module {name}: choose one of {', '.join(config['modules'])}")
        chosen += [m for m in matches if m not in chosen]
    prefixes = tuple(f"{_dotted(m)}." for m in chosen)
    equivalent = {name: why for name, why in config["equivalent"].items() if name.startswith(prefixes)}
    return {**config, "modules": chosen, "equivalent": equivalent}


def _dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _patterns(config: dict) -> list[str]:
    """mutmut name globs of every mutant in scope."""
    patterns = []
    for path in config["modules"]:
        functions = config["scope"].get(path)
        if functions is None:
            patterns.append(f"{_dotted(path)}.*")
        else:
            patterns += [f"{_dotted(path)}.{function}__mutmut_*" for function in functions]
    return patterns


def _in_scope(config: dict, path: str, name: str) -> bool:
    functions = config["scope"].get(path)
    if functions is None:
        return True
    function = name.rpartition(".")[2].partition("__mutmut_")[0]
    return any(fnmatch.fnmatchcase(function, pattern) for pattern in functions)


def _results(config: dict) -> dict[str, dict[str, int | None]]:
    """Exit code of every mutant in scope, by module (None: not run yet)."""
    results = {}
    for path in config["modules"]:
        meta = ROOT / "mutants" / f"{path}.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}
        results[path] = {name: code for name, code in codes.items() if _in_scope(config, path, name)}
    return results


def _status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


def report(config: dict) -> tuple[str, bool]:
    """The per-module table as markdown, and whether every module reached the goal."""
    equivalent = config["equivalent"]
    rows, ok, stale = [], True, []
    totals = dict.fromkeys(
        ("mutants", "not run", "killed", "survived", "equivalent", "timeout", "no tests"), 0
    )
    for path, codes in _results(config).items():
        counts = dict.fromkeys(totals, 0)
        for name, code in codes.items():
            status = _status(code)
            counts["mutants"] += 1
            if code is None:
                counts["not run"] += 1
            elif status == "survived" and name in equivalent:
                counts["equivalent"] += 1
            elif status in ("killed", "survived", "timeout", "no tests"):
                counts[status] += 1
            # an entry whose mutant was not run this time is not known to be stale
            if name in equivalent and code is not None and status != "survived":
                stale.append(f"{name} is listed as equivalent but is {status}")
        for key in totals:
            totals[key] += counts[key]
        # a timeout is a mutant the tests noticed (it hangs or loops); equivalents are not bugs;
        # the score is over the mutants run, and a module with mutants not run misses the goal
        decided = counts["mutants"] - counts["not run"] - counts["equivalent"]
        score = (counts["killed"] + counts["timeout"]) / decided if decided else None
        ok &= (score is None or score >= GOAL) and not counts["not run"]
        rows.append((path, counts, score))
    unknown = sorted(set(equivalent) - {n for codes in _results(config).values() for n in codes})
    stale += [f"{name} is listed as equivalent but no longer exists" for name in unknown]
    head = "| module | mutants | not run | killed | survived | equivalent | timeout | no tests | score |"
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    t = totals
    decided = t["mutants"] - t["not run"] - t["equivalent"]
    overall = (t["killed"] + t["timeout"]) / decided if decided else None
    for path, c, score in [*rows, ("**all**", t, overall)]:
        lines.append(
            f"| {path} | {c['mutants']} | {c['not run']} | {c['killed']} | {c['survived']} | "
            f"{c['equivalent']} | {c['timeout']} | {c['no tests']} | {'—' if score is None else f'{score:.1%}'} |"
        )
    lines += [f"\nstale equivalent entry: {line}" for line in stale]
    return "\n".join(lines) + "\n", ok and not stale


def survivors(config: dict) -> list[str]:
    """Mutants in scope not killed, not timed out and not listed as equivalent."""
    return sorted(
        name
        for codes in _results(config).values()
        for name, code in codes.items()
        if _status(code) not in ("killed", "timeout") and name not in config["equivalent"]
    )


def unchecked(config: dict) -> list[str]:
    """Mutants in scope that no run has decided yet."""
    return sorted(name for codes in _results(config).values() for name, code in codes.items() if code is None)


def _mutmut(names: list[str], max_children: int, modules: list[str]) -> None:
    if not names:
        return
    # the clean run before the mutants keeps only these modules' own tests (tests/mutation_selection.py)
    env = {**os.environ, "VOXNB_MUTATION_MODULES": ",".join(_dotted(m) for m in modules)}
    log = ROOT / "mutants" / "mutmut-run.log"
    log.parent.mkdir(exist_ok=True)
    print(f"mutmut run ({len(names)} names); its output goes to {log.relative_to(ROOT)}", flush=True)
    with open(log, "w") as out:
        # mutmut lists every mutant it was given by name at the end of its output; the log keeps it
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--unkilled", action="store_true", help="re-run only the mutants not killed last time")
    which.add_argument("--report", action="store_true", help="only print the report of the last run")
    which.add_argument(
        "--equivalents",
        action="store_true",
        help="re-run the mutants listed as equivalent: a listed one that new tests kill is reported stale",
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel workers")
    parser.add_argument("--list", action="store_true", help="with --report: list the surviving mutants")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        help="only this module of the scope (repeatable): request, api/batch, voxnb/cache.py ...",
    )
    args = parser.parse_args(argv)
    config = _select(_config(), args.module)
    modules = config["modules"]
    if not args.report:
        if args.equivalents:
            _mutmut(sorted(config["equivalent"]), args.max_children, modules)
        elif not args.unkilled:
            _mutmut(_patterns(config), args.max_children, modules)
        else:
            _mutmut(survivors(config), args.max_children, modules)
            # mutmut regenerates the mutants of functions edited since the last run (their
            # results reset): run those too, now that they exist
            _mutmut(unchecked(config), args.max_children, modules)
    table, ok = report(config)
    report_path = ROOT / "mutants" / "report.md"
    report_path.parent.mkdir(exist_ok=True)
    tmp = report_path.with_name(".report.md.tmp")
    tmp.write_text(table, encoding="utf-8")
    os.replace(tmp, report_path)  # a reader never sees half a report
    print(table)
    if args.list:
        print("\n".join(survivors(config)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
