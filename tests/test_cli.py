"""The command line: ``voxnb transcribe`` on files, folders and globs with every format, ``voxnb bias
run`` from a TSV, and bad arguments (one line, exit status 2). Transcription goes over real HTTP to
a ``voxnb serve`` with the deterministic engine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import voxnb
from voxnb.cli import main

REPO = Path(__file__).resolve().parents[1]
TABLES = ("segments", "words", "turns", "speakers")


@pytest.fixture
def recordings(tmp_path, tiny_wav):
    folder = tmp_path / "calls"
    (folder / "more").mkdir(parents=True)
    for k in range(3):
        (folder / f"call{k}.wav").write_bytes(tiny_wav(k, seconds=0.4))
    (folder / "more" / "call0.wav").write_bytes(tiny_wav(7, seconds=0.4))  # the same name in a subfolder
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_transcribe_a_folder_writes_every_format_named_after_each_input(
    recordings, tmp_path, voxnb_server, capsys, monkeypatch
):
    monkeypatch.setenv("VOXNB_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    status = main(
        [
            "transcribe",
            str(recordings),
            "--recursive",
            "--out",
            str(out),
            "--base-url",
            voxnb_server,
            "--no-progress",
        ]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err
    names = ["calls_call0", "call1", "call2", "more_call0"]  # two call0: told apart by their folder
    expected = {
        f"{n}{suffix}"
        for n in names
        for suffix in (
            ".json",
            ".srt",
            ".vtt",
            ".TextGrid",
            ".rttm",
            *tuple(f".{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")),
        )
    }
    assert {p.name for p in out.iterdir()} == expected
    assert "4 of 4 transcribed (0 from the cache), 52 files written" in printed.out
    rttm = (out / "call1.rttm").read_text().split()
    assert rttm[0] == "SPEAKER" and rttm[1] == "call1"  # the recording is named after the file
    saved = voxnb.load_transcript(out / "call1.json")
    for table in TABLES:
        frame = pd.read_csv(out / f"call1.{table}.csv")
        assert list(frame.columns) == list(getattr(saved, table).columns)
        assert len(pd.read_parquet(out / f"call1.{table}.parquet")) == len(frame)
    assert (out / "call1.TextGrid").read_text().startswith('File type = "ooTextFile"')
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))  # written whole: no temporary left
    # a glob, only some formats, and the cache: nothing is sent again
    again = tmp_path / "again"
    status = main(
        [
            "transcribe",
            str(recordings / "call*.wav"),
            "--out",
            str(again),
            "--formats",
            "srt",
            "csv",
            "--base-url",
            voxnb_server,
            "--no-progress",
        ]
    )
    printed = capsys.readouterr()
    assert status == 0 and "3 of 3 transcribed (3 from the cache)" in printed.out
    assert sorted(p.suffix for p in again.iterdir() if p.stem == "call0") == [".srt"]
    assert len(list(again.iterdir())) == 3 * (1 + 4)


def test_one_recording_prints_its_whole_segments_table_and_keeps_the_single_file_form(
    tmp_path, voxnb_server, capsys
):
    audio = voxnb.data.path("two_voices")
    out = tmp_path / "talk.srt"
    assert (
        main(["transcribe", str(audio), "--out", str(out), "--base-url", voxnb_server, "--no-progress"]) == 0
    )
    printed = capsys.readouterr().out
    assert out.read_text().startswith("1\n00:00:0") and list(tmp_path.iterdir()) == [out]
    longest = max(printed.splitlines(), key=len)  # the printed table has every segment's whole text
    assert "…" not in printed and len(longest) > 80


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["transcribe", "/no/such/file.wav"], "voxnb transcribe: /no/such/file.wav: no such file or folder"),
        (["transcribe", "EMPTY"], "no audio files in this folder"),
        (["transcribe", "/no/*.wav"], "the pattern matches no file"),
        (["transcribe", "AUDIO", "--formats", "docx"], "unknown format(s) ['docx']"),
        (["transcribe", "AUDIO", "--concurrency", "0"], "--concurrency must be at least 1"),
        (["transcribe", "AUDIO", "--bogus"], "unrecognized arguments: --bogus"),
        (["transcribe", "AUDIO", "--timestamps", "char"], "--timestamps: invalid choice: 'char'"),
        # a list option before the audio gives it back: the file is looked for, not missed
        (["transcribe", "--formats", "srt", "vtt", "/no/such/file.wav"], "/no/such/file.wav: no such file"),
        (["transcribe", "--timestamps", "word", "/no/such/file.wav"], "/no/such/file.wav: no such file"),
        (["transcribe", "--formats", "srtx", "/no/such/file.wav"], "unknown format(s) ['srtx']"),
        (["transcribe", "--formats", "srt"], "give the audio to transcribe"),
        (["bias", "run"], "the following arguments are required: items"),
        (["bias", "run", "/no/items.tsv"], "/no/items.tsv: no such file"),
    ],
)
def test_bad_arguments_say_what_is_wrong_in_one_line_and_exit_2(argv, message, tmp_path):
    (tmp_path / "empty").mkdir()
    argv = [
        {"EMPTY": str(tmp_path / "empty"), "AUDIO": str(voxnb.data.path("words"))}.get(a, a) for a in argv
    ]
    run = subprocess.run([sys.executable, "-m", "voxnb", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr


def test_help_has_examples():
    for argv in (["transcribe", "--help"], ["bias", "run", "--help"]):
        run = subprocess.run([sys.executable, "-m", "voxnb", *argv], capture_output=True, text=True)
        assert (
            run.returncode == 0 and "examples:" in run.stdout and "voxnb " in run.stdout.split("examples:")[1]
        )


def test_bias_run_writes_tables_latex_and_plots(tmp_path, voxnb_server, capsys, tiny_wav):
    folder = tmp_path / "items"
    folder.mkdir()
    rows = ["name\taudio\treference\trare_words\tbias_list\tblock"]
    for k, (reference, rare) in enumerate(
        [
            ("Janis Joplin sang in Sausalito.", '["Janis_Joplin", "Sausalito"]'),
            ("The ferry left Oban.", "Oban"),
        ]
        * 2
    ):
        (folder / f"u{k}.wav").write_bytes(tiny_wav(20 + k, seconds=0.3))
        rows.append(f"u{k}\tu{k}.wav\t{reference}\t{rare}\tOban;Lerwick\tspk{k % 2}")
    (folder / "items.tsv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "lab"
    status = main(
        [
            "bias",
            "run",
            str(folder / "items.tsv"),
            "--out",
            str(out),
            "--conditions",
            "none",
            "oracle",
            "given",
            "--base-url",
            voxnb_server,
            "--n-boot",
            "50",
            "--no-progress",
            "--no-cache",
            "--blocks",
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert {p.name for p in out.iterdir()} == {
        "summary.csv",
        "summary.tex",
        "results.csv",
        "terms.csv",
        "compare.csv",
        "compare.tex",
        "measures.png",
        "terms.png",
        "forest.png",
        "experiment.json",
    }
    summary = pd.read_csv(out / "summary.csv", comment="#")
    assert list(summary.columns) == ["condition", "measure", "estimate", "low", "high"]
    assert set(summary["condition"]) == {"none", "oracle", "given"}
    assert "# blocks: block" in (out / "summary.csv").read_text()
    assert "\\begin{tabular}" in (out / "summary.tex").read_text()
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["lists"]["given"]["u0"] == ["Oban", "Lerwick"] and meta["lists"]["none"]["u0"] == []
    assert (out / "forest.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(out / "results.csv")) == 12  # 4 items × 3 conditions


def test_the_console_script_is_installed():
    script = shutil.which("voxnb", path=str(Path(sys.executable).parent))
    assert script is not None
    run = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert "transcribe" in run.stdout and "bias" in run.stdout


def test_audio_after_a_list_option_is_still_the_audio():
    from voxnb.cli import build_parser
    from voxnb.demo import _audio_swallowed_by_options

    audio = str(voxnb.data.path("words"))
    for argv, (formats, timestamps, terms) in [
        (["--formats", "SRT", "json", audio], (["SRT", "json"], None, None)),
        (["--timestamps", "segment", "word", audio], (["all"], ["segment", "word"], None)),
        # a bias term is anything; what names a file on disk is audio
        (["--context-bias", "Okafor", "Dr_Okafor", audio], (["all"], None, ["Okafor", "Dr_Okafor"])),
        ([audio, "--context-bias", "Okafor"], (["all"], None, ["Okafor"])),
    ]:
        args = build_parser().parse_args(["transcribe", *argv])
        _audio_swallowed_by_options(args)
        assert (args.audio, args.formats, args.timestamps, args.context_bias) == (
            [audio],
            formats,
            timestamps,
            terms,
        )
