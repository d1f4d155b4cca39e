"""``voxnb bias run``: a context_bias experiment from a TSV, its tables (CSV, LaTeX) and plots.

The TSV has a header row naming its columns: ``audio`` (a path, relative to the TSV's folder, or
a URL) and ``reference`` are required; ``name``, ``rare_words`` (the terms of the reference a
list should hold: a JSON list, or terms separated by ``;``), ``bias_list`` (a list given with the
data, the condition ``given``) and ``block`` (for the blockwise bootstrap) are optional. The
LibriSpeech biasing benchmark's own TSV (no header; id, reference, rare words, list) is read too,
with ``--audio-dir`` pointing at the LibriSpeech split.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from voxnb.errors import ParameterError

__all__ = ["add_bias", "read_items", "run_bias"]

EXAMPLES = """\
examples:
  voxnb bias run items.tsv --out lab                       # none vs oracle, offline engine
  voxnb bias run items.tsv --conditions none oracle oracle+20 --distractors bundled --n-boot 2000
  voxnb bias run items.tsv --conditions none given          # the TSV's own bias_list column
  voxnb bias run test-clean.biasing_100.tsv --audio-dir LibriSpeech/test-clean --conditions none given
  MISTRAL_API_KEY=... voxnb bias run items.tsv --model voxtral-mini-2602

items.tsv (tab-separated, with a header):
  name  audio        reference                          rare_words
  b01   b01.wav      Janis Joplin sang in Sausalito.    ["Janis Joplin", "Sausalito"]
"""


def add_bias(subparsers: Any) -> None:
    bias = subparsers.add_parser(
        "bias",
        help="context_bias experiments from files",
        description="The context_bias lab from the command line.",
        epilog="run `voxnb bias run --help` for the options and examples",
    )
    commands = bias.add_subparsers(dest="bias_command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="run an Experiment from a TSV and write its tables (CSV, LaTeX) and plots",
        description="Transcribe every item of ITEMS under every condition (cached: a re-run sends nothing), "
        "score them exactly as the LibriSpeech biasing benchmark does, and write into --out: summary.csv/.tex "
        "(each measure per condition with a bootstrap interval), compare.csv/.tex (paired differences "
        "against the first condition), results.csv (per item), terms.csv (per condition and term), "
        "measures.png, terms.png, forest.png and experiment.json (the lists and settings).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("items", help="the TSV of items (see below)")
    run.add_argument("--out", default="bias-lab", help="folder for the outputs (default: bias-lab)")
    run.add_argument(
        "--conditions",
        nargs="+",
        default=["none", "oracle"],
        metavar="CONDITION",
        help="none, oracle, oracle+N (N distractors), given (the TSV's bias_list) (default: none oracle)",
    )
    run.add_argument(
        "--distractors",
        default=None,
        metavar="FILE",
        help="the pool oracle+N draws from: a file with one term per line, or 'bundled'",
    )
    run.add_argument(
        "--audio-dir", default=None, help="for the benchmark's TSV: the LibriSpeech split folder"
    )
    run.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    run.add_argument("--seed", type=int, default=0, help="seed of the distractor draws and the bootstrap")
    run.add_argument(
        "--blocks", action="store_true", help="resample blocks (the TSV's block column), not items"
    )
    run.add_argument("--convention", choices=("reference-rare", "full-list"), default="reference-rare")
    run.add_argument("--normalizer", choices=("whisper-en", "basic", "none"), default="whisper-en")
    run.add_argument("--concurrency", type=int, default=4)
    run.add_argument("--no-cache", action="store_true", help="transcribe again what the cache holds")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--backend", choices=("mistral", "openai-compatible", "local"), default=None)
    run.add_argument("--base-url", default=None)
    run.add_argument("--model", default=None)
    run.add_argument("--language", default=None)
    run.set_defaults(run=run_bias, prog="voxnb bias run")


def _terms(cell: str, where: str) -> tuple[str, ...]:
    cell = (cell or "").strip()
    if not cell:
        return ()
    if cell.startswith("["):
        try:
            terms = json.loads(cell)
        except json.JSONDecodeError as err:
            raise ParameterError(f'{where}: not a JSON list ({err.msg}); write ["a", "b"] or a;b') from None
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ParameterError(f"{where}: expected a JSON list of strings")
        return tuple(terms)
    return tuple(t.strip() for t in cell.split(";") if t.strip())


def read_items(path: str | Path, *, audio_dir: str | Path | None = None) -> list[Any]:
    """The items of a TSV: with a header (``audio``, ``reference``, ...) or the benchmark's own.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "items.tsv"), "w") as f:
    ...     _ = f.write("audio\\treference\\trare_words\\nb01.wav\\tJanis sang.\\tJanis;Sausalito\\n")
    >>> item = read_items(os.path.join(folder, "items.tsv"))[0]
    >>> item.name, item.rare_words, item.audio == os.path.join(folder, "b01.wav")
    ('b01', ('Janis', 'Sausalito'), True)
    """
    from voxnb.bias.data import BiasItem, read_biasing_tsv

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: no such file (the items TSV)")
    text = path.read_text(encoding="utf-8")
    first = text.split("\n", 1)[0].lower().split("\t")
    if "reference" not in first:
        return read_biasing_tsv(path, audio_dir=audio_dir)
    if "audio" not in first:
        raise ParameterError(f"{path}: the header needs an 'audio' column (and 'reference'); it has {first}")
    items = []
    for line_no, row in enumerate(csv.DictReader(io.StringIO(text), delimiter="\t"), 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        where = f"{path.name}:{line_no}"
        if not row.get("audio") or not row.get("reference"):
            raise ParameterError(f"{where}: every row needs audio and reference")
        audio = row["audio"]
        if not audio.startswith(("http://", "https://")):
            audio = str(path.parent / audio) if not Path(audio).is_absolute() else audio
        items.append(
            BiasItem(
                name=row.get("name") or Path(row["audio"].split("?")[0]).stem,
                audio=audio,
                reference=row["reference"],
                rare_words=_terms(row.get("rare_words", ""), f"{where} rare_words"),
                biasing_list=_terms(row.get("bias_list", ""), f"{where} bias_list"),
                block=row.get("block") or None,
            )
        )
    if not items:
        raise ParameterError(f"{path}: no items under the header")
    return items


def _given(item: Any) -> list[str]:
    return list(item.biasing_list)


def _figure_png(ax: Any) -> bytes:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    return buffer.getvalue()


def run_bias(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from voxnb import bias
    from voxnb._atomic import write_atomic

    began = time.perf_counter()
    items = read_items(args.items, audio_dir=args.audio_dir)
    conditions = {c: (_given if c == "given" else c) for c in args.conditions}
    if "given" in conditions and not any(it.biasing_list for it in items):
        raise ParameterError(
            "the condition 'given' needs a bias_list column (or the benchmark's fourth column)"
        )
    distractors = None
    if args.distractors == "bundled":
        distractors = bias.bundled_distractors()
    elif args.distractors:
        pool = Path(args.distractors)
        if not pool.is_file():
            raise ParameterError(f"--distractors {pool}: no such file (one term per line, or 'bundled')")
        distractors = [t.strip() for t in pool.read_text(encoding="utf-8").splitlines() if t.strip()]
    params = {k: v for k, v in {"model": args.model, "language": args.language}.items() if v is not None}
    exp = bias.Experiment(
        items,
        conditions,
        backend=args.backend,
        base_url=args.base_url,
        distractors=distractors,
        seed=args.seed,
        convention=args.convention,
        normalizer=None if args.normalizer == "none" else args.normalizer,
        params=params,
    )
    exp.run(concurrency=args.concurrency, cache=not args.no_cache, progress=not args.no_progress)
    if not exp.complete_items:
        raise ParameterError(
            f"no item was transcribed under every condition; first error: {next(iter(exp.errors.values()), None)}"
        )
    out = Path(args.out)
    stats = {"n_boot": args.n_boot, "seed": args.seed, "blocks": "block" if args.blocks else None}
    written = []

    def save(name: str, content: str | bytes) -> None:
        written.append(write_atomic(out / name, content))

    summary = exp.summary(**stats)
    save("summary.csv", exp.to_csv(**stats))
    save("summary.tex", exp.to_latex(**stats, label="tab:context-bias") + "\n")
    save("results.csv", exp.to_csv(table="results"))
    save("terms.csv", exp.to_csv(table="terms"))
    save("measures.png", _figure_png(exp.plot_measures(**stats)))
    save("terms.png", _figure_png(exp.plot_terms()))
    if len(conditions) > 1:
        save("compare.csv", exp.to_csv(table="compare", **stats))
        save("compare.tex", exp.to_latex(table="compare", **stats) + "\n")
        save("forest.png", _figure_png(exp.plot_forest(**stats)))
    meta = {
        "items": str(Path(args.items).resolve()),
        "conditions": list(args.conditions),
        "lists": exp.lists,
        "errors": {f"{i}/{c}": str(e) for (i, c), e in exp.errors.items()},
        **{k: v for k, v in summary.attrs.items()},
    }
    save("experiment.json", json.dumps(meta, indent=1, ensure_ascii=False, default=str))
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\n{len(exp.complete_items)} items × {len(conditions)} conditions; {len(written)} files in {out}/ "
          f"in {time.perf_counter() - began:.0f} s: {', '.join(p.name for p in written)}")  # fmt: skip
    if exp.errors:
        print(f"voxnb bias run: {len(exp.errors)} transcriptions failed (see experiment.json)", flush=True)
        return 1
    return 0
