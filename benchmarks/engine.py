"""Benchmark of the embedded offline engine on voxnb's bundled samples.

Prints, each against a named baseline:

* real-time factor (compute seconds / audio seconds; baseline: real time, goal ≤ 0.2) of batch
  transcription on the 45 s sample and on a 10-minute file built from the samples, for text
  only, with segment+word timestamps, and with speakers; and voxnb's overhead against calling
  faster-whisper directly with the same options;
* word error rate on the sample (jiwer on Whisper-normalised text) without and with
  ``context_bias`` (goal ≤ 10 %), and the biased terms' error (B-WER, voxnb.bias.score);
* forced-alignment boundary error on the word-by-word fixtures (exact boundaries) and on the
  dialogues' turn edges, against character-count interpolation and the raw Whisper aligner
  (goal: median ≤ 60 ms);
* diarization error rate (pyannote.metrics, no collar) on two-, three-voice fixtures and the
  sample, with the speaker count estimated and given (goal ≤ 15 %);
* streaming: delay from the end of a word in the audio to its committed text, and the
  decoder's share of real time, with audio fed at real-time pace.

The machine this runs on may be shared: medians of ``--runs`` repetitions are quoted.

    python benchmarks/engine.py                 # everything (about 5-10 minutes on 2 busy cores)
    python benchmarks/engine.py --skip-long --skip-stream
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np

import voxnb
from voxnb.local.engine import SAMPLE_RATE, get_engine


def timed(fn, runs: int) -> tuple[float, object]:
    """Median seconds of *runs* calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def long_file(seconds: float = 600.0) -> np.ndarray:
    """The bundled dialogues and word clips joined (with 0.7 s pauses) until *seconds* long."""
    clips = [
        voxnb.data.audio(name).y for name in ("dialogue", "two_voices", "three_voices", "words", "words_slt")
    ]
    pause = np.zeros(int(0.7 * SAMPLE_RATE), np.float32)
    pieces, total, i = [], 0, 0
    while total < seconds * SAMPLE_RATE:
        clip = clips[i % len(clips)]
        pieces += [clip, pause]
        total += len(clip) + len(pause)
        i += 1
    return np.concatenate(pieces)[: int(seconds * SAMPLE_RATE)]


def section(title: str) -> None:
    print(f"\n## {title}")


def bench_rtf(engine, runs: int, skip_long: bool) -> None:
    from faster_whisper import WhisperModel

    section("real-time factor (compute / audio duration; baseline: real time = 1.0; goal <= 0.2)")
    sample = voxnb.data.audio("dialogue").y
    bias = voxnb.data.reference("dialogue")["context_bias"]
    cases = {
        "text only": {},
        "segments + words": {"timestamps": ["segment", "word"]},
        "segments + words + speakers": {"timestamps": ["segment", "word"], "diarize": True},
        "... + context_bias": {"timestamps": ["segment", "word"], "diarize": True, "context_bias": bias},
    }
    inputs = {"sample (45 s)": (sample, runs)}
    if not skip_long:
        inputs["10-minute file"] = (long_file(), 1)
    for label, (y, n) in inputs.items():
        duration = len(y) / SAMPLE_RATE
        for case, params in cases.items():
            if label != "sample (45 s)" and case == "... + context_bias":
                continue
            seconds, _ = timed(lambda y=y, params=params: engine.transcribe(y, **params), n)
            print(f"{label:15} {case:30} {seconds:7.2f} s   RTF {seconds / duration:.3f}")

    # voxnb's overhead: the same decode through faster-whisper directly (its own model instance)
    plain = WhisperModel(engine.path, device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1)
    direct, ours = [], []
    for _ in range(runs):  # interleaved, so that the machine's load hits both alike
        direct.append(
            timed(
                lambda: list(
                    plain.transcribe(
                        sample, language="en", beam_size=5, vad_filter=True, word_timestamps=True
                    )[0]
                ),
                1,
            )[0]
        )
        ours.append(timed(lambda: engine.transcribe(sample, timestamps=["segment", "word"]), 1)[0])
    direct, ours = statistics.median(direct), statistics.median(ours)
    print(
        f"segments + words: voxnb {ours:.2f} s vs faster-whisper directly {direct:.2f} s "
        f"(ratio {ours / direct:.2f}; baseline: faster-whisper)"
    )


ASTERISK = {"en": "en_US_f_Allison", "fr": "fr_CA_f_June"}
#: how much faster than one core CTranslate2 decodes on two: turns CPU seconds into the RTF two
#: free cores would give when the machine is shared (an assumption, not a measurement; see the note)
CPU_SPEEDUP = 1.6


def asterisk(language: str, *, every: int = 4) -> list[tuple[str, np.ndarray, str]]:
    """Real read speech: every *every*-th Asterisk voice prompt of five words or more, with its text.

    Debian's ``asterisk-core-sounds-{en,fr}-wav`` and ``asterisk-core-sounds-{en,fr}`` hold
    the recordings (Allison Smith, June Wallack; CC-BY-SA-3.0) and their texts; an empty list
    when they are not installed.
    """
    import gzip

    texts = Path(f"/usr/share/doc/asterisk-core-sounds-{language}/core-sounds-{language}.txt.gz")
    sounds = Path("/usr/share/asterisk/sounds") / ASTERISK[language]
    if not texts.is_file() or not sounds.is_dir():
        return []
    items = []
    with gzip.open(texts, "rt") as lines:
        for line in lines:
            name, _, text = line.partition(":")
            text = text.strip().strip("“”")
            path = sounds / f"{name.strip()}.wav"
            if line.startswith(";") or any(c in text for c in "[(") or len(text.split()) < 5:
                continue
            if path.is_file():
                items.append((name.strip(), voxnb.Audio.load(path, sr=SAMPLE_RATE).y, text))
    return items[::every]


def trs_text(path: Path) -> str:
    """The words of a Transcriber ``.trs`` file: noise marks ``{laugh}`` dropped, ``((unsure))`` kept."""
    import re

    xml = path.read_text(encoding="latin-1")
    body = re.sub(r"<[^>]+>", " ", xml[xml.index("<Episode") :])
    body = re.sub(r"\{[^}]*\}", " ", body).replace("((", " ").replace("))", " ")
    return " ".join(body.replace("- ", " ").split())


def registry_real_speech() -> dict[str, tuple[str, list[tuple[str, np.ndarray, str]]]]:
    """Real recordings found in registry packages by the speakers work (tests/real_speech.py, if there).

    LibriVox and JFK utterances (pocketsphinx sdist, whisper.cpp), and Debian's ``transcriber``
    examples (fetched by ``scripts/fetch_real_speech.py``): a telephone call between two people
    and French radio, with their human transcripts.
    """
    import json
    import sys

    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path.insert(0, str(tests))
    try:
        import real_speech
    except ImportError:
        return {}
    sets = {}
    ref = json.loads((real_speech.HERE / "real.json").read_text())
    for speaker, label in (("austen_reader", "LibriVox (real, read)"), ("jfk", "JFK 1961 (real, famous)")):
        names = sorted(name for name, item in ref.items() if item["speaker"] == speaker)
        sets[label] = (
            "en",
            [(n, real_speech._load(real_speech.HERE / f"{n}.flac"), ref[n]["text"]) for n in names],
        )
    try:
        folder = real_speech._fetched()
    except (FileNotFoundError, ImportError):
        return sets
    sets["telephone call (real, conversational)"] = (
        "en", [("know", real_speech._load(folder / "know.sph"), trs_text(folder / "know.trs"))]
    )  # fmt: skip
    sets["French radio (real, with music)"] = (
        "fr", [("frint", real_speech._load(folder / "frint980428.wav"), trs_text(folder / "frint980428.trs"))]
    )  # fmt: skip
    return sets


def real_speech() -> dict[str, tuple[str, list[tuple[str, np.ndarray, str]]]]:
    """The evaluation sets by name: (language, [(id, samples, reference)])."""
    sets = {f"asterisk-{lang} (real, read, 8 kHz)": (lang, asterisk(lang)) for lang in ASTERISK}
    sets.update(registry_real_speech())
    bias = voxnb.bias.load_bundled()
    sets["bias set (TTS, no bias)"] = (
        "en",
        [(i.name, voxnb.audio.as_audio(i.audio, sr=SAMPLE_RATE).y, i.reference) for i in bias],
    )
    sets["dialogue sample (TTS)"] = (
        "en",
        [("dialogue", voxnb.data.audio("dialogue").y, voxnb.data.reference("dialogue")["text"])],
    )
    return {name: value for name, value in sets.items() if value[1]}


def bench_models() -> None:
    """WER and RTF of every installed packaged model on real and TTS speech, on all cores."""
    import jiwer
    from whisper_normalizer.basic import BasicTextNormalizer
    from whisper_normalizer.english import EnglishTextNormalizer

    from voxnb.local.engine import PACKAGED, _installed

    section(
        f"offline models: WER (Whisper-normalised) and RTF on {os.cpu_count()} cores "
        "(baseline: tiny.en, the default; RTF goal <= 0.2)"
    )
    sets = real_speech()
    for name, (language, items) in sets.items():
        seconds = sum(len(y) for _, y, _ in items) / SAMPLE_RATE
        normalize = EnglishTextNormalizer() if language == "en" else BasicTextNormalizer()
        rows = {}
        for model in PACKAGED:
            if not _installed(model):
                continue
            engine = get_engine(model)
            if language not in engine.languages:
                continue
            began, began_cpu = time.perf_counter(), time.process_time()
            hyps = [engine.transcribe(y, language=language, progress=False)["text"] for _, y, _ in items]
            took, cpu = time.perf_counter() - began, time.process_time() - began_cpu
            wer = jiwer.wer([normalize(r) for _, _, r in items], [normalize(h) for h in hyps])
            rows[model] = (wer, took / seconds, cpu / seconds)
        base = rows.get("tiny.en")
        for model, (wer, rtf, cpu) in rows.items():
            ratio = f"  (CPU x{cpu / base[2]:.2f} of tiny.en)" if base and model != "tiny.en" else ""
            print(
                f"{name:38} {len(items):3} clips {seconds:5.0f} s  {model:8} WER {wer:6.1%}  RTF {rtf:.3f}  "
                f"CPU {cpu:.3f} core-s/s, so RTF ~{cpu / CPU_SPEEDUP:.3f} on 2 free cores{ratio}"
            )


def cut_at_every_stop(words: list) -> list[list]:
    """The segmentation before issue 13 (the baseline): a segment ends after every . ? ! or 1 s pause."""
    groups: list[list] = []
    for w in words:
        if (
            not groups
            or groups[-1][-1].word.strip().endswith(tuple(".?!"))
            or w.start - groups[-1][-1].end > 1.0
        ):
            groups.append([])
        groups[-1].append(w)
    return groups


def bench_segments(engine) -> None:
    """Segments shorter than 0.3 s, before (cut at every full stop) and after, from the same decodes."""
    from voxnb.local.engine import MIN_SEGMENT, sentence_groups, snap_words, words_in_speech

    section("segments shorter than 0.3 s (baseline: a segment ended at every full stop)")
    tests = Path(__file__).resolve().parents[1] / "tests" / "data"
    clips = {f"voxnb.data {name}": (voxnb.data.audio(name).y, "en") for name in voxnb.data.NAMES}
    for path in sorted(tests.glob("*.ogg")):
        clips[f"tests/data {path.stem}"] = (
            voxnb.Audio.load(path).y,
            "fr" if path.stem.endswith("_fr") else "en",
        )
    for label, (language, items) in registry_real_speech().items():
        for name, y, _ in items:
            clips[f"{label.split(' (')[0]} {name}"] = (y, language)
    for item in voxnb.bias.load_bundled():
        clips[f"bias set {item.name}"] = (voxnb.audio.as_audio(item.audio, sr=SAMPLE_RATE).y, "en")
    totals = {"before": [0, 0], "after": [0, 0]}
    for name, (y, language) in clips.items():
        segments, _ = engine.for_language(language).decode(y, words=True, language=language)
        words = snap_words(words_in_speech(segments, y), y)
        row = []
        for label, cut in (("before", cut_at_every_stop), ("after", sentence_groups)):
            groups = cut(words)
            short = sum(g[-1].end - g[0].start < MIN_SEGMENT for g in groups)
            totals[label][0] += len(groups)
            totals[label][1] += short
            row.append(f"{label} {short:2}/{len(groups):2}")
        if not name.startswith("bias set"):
            print(f"{name:36} " + "   ".join(row))
    for label, (n, short) in totals.items():
        print(
            f"all {len(clips)} clips (with the 20 of the bias set) {label:6}: {short} of {n} segments shorter than 0.3 s"
        )


def bench_wer(engine) -> None:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    from voxnb.bias import score

    section("word error rate on the sample (goal <= 10 %)")
    normalize = EnglishTextNormalizer()
    reference = voxnb.data.reference("dialogue")
    y = voxnb.data.audio("dialogue").y
    for label, bias in (("without context_bias", None), ("with context_bias", reference["context_bias"])):
        text = engine.transcribe(y, context_bias=bias)["text"]
        wer = jiwer.wer(normalize(reference["text"]), normalize(text))
        b_wer = score([reference["text"]], [text], [reference["context_bias"]]).b_wer
        print(f"{label:22} WER {wer:6.1%}   B-WER (the {len(reference['context_bias'])} terms) {b_wer:6.1%}")


def segment_only(name: str) -> voxnb.Transcript:
    ref = voxnb.data.reference(name)
    segments = [
        {"text": t["text"], "start": math.floor(t["start"] * 10) / 10, "end": math.ceil(t["end"] * 10) / 10}
        for t in ref["turns"]
    ]
    return voxnb.Transcript.from_response(
        {"model": "reference", "text": ref["text"], "language": "en", "segments": segments, "usage": {}}
    )


def bench_alignment(engine) -> None:
    section("forced alignment: boundary error (goal: median <= 60 ms; baseline: interpolation by characters)")
    for name in ("words", "words_slt"):
        truth = voxnb.data.words(name)[["start", "end"]].to_numpy(float)
        t = segment_only(name)
        audio = voxnb.data.audio(name)
        seconds, aligned = timed(lambda t=t, audio=audio: voxnb.align(t, audio, engine=engine), 1)
        variants = {
            "interpolation": t.words,
            "Whisper aligner": voxnb.align(t, audio, engine=engine, snap=False).words,
            "aligner + snapping": aligned.words,
        }
        for label, words in variants.items():
            err = np.abs(words[["start", "end"]].to_numpy(float) - truth).ravel()
            print(
                f"{name:10} {label:20} median {np.median(err) * 1000:5.0f} ms   within 100 ms {np.mean(err <= 0.1):5.0%}"
                f"   ({len(err)} boundaries)"
            )
        print(f"{name:10} alignment took {seconds:.2f} s for {audio.duration:.1f} s of audio")
    for name in ("dialogue", "two_voices", "three_voices"):
        truth = voxnb.data.turns(name)[["start", "end"]].to_numpy(float)
        t = segment_only(name)
        for label, snap in (("Whisper aligner", False), ("aligner + snapping", True)):
            words = voxnb.align(t, voxnb.data.audio(name), engine=engine, snap=snap).words
            edges = words.groupby("segment").agg(start=("start", "min"), end=("end", "max")).to_numpy(float)
            err = np.abs(edges - truth).ravel()
            print(
                f"{name:12} turn edges, {label:20} median {np.median(err) * 1000:5.0f} ms   "
                f"within 100 ms {np.mean(err <= 0.1):5.0%}   ({len(err)} edges)"
            )


def bench_der() -> None:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    from voxnb.local.diarize import diarize

    section("diarization error rate (pyannote.metrics, no collar; goal <= 15 %)")
    for name in ("two_voices", "three_voices", "dialogue"):
        ref = Annotation()
        for turn in voxnb.data.reference(name)["turns"]:
            ref[Segment(turn["start"], turn["end"])] = turn["speaker"]
        n = len(ref.labels())
        y = voxnb.data.audio(name).y
        for given in (None, n):
            seconds, turns = timed(lambda given=given, y=y: diarize(y, num_speakers=given), 1)
            hyp = Annotation()
            for turn in turns:
                hyp[Segment(turn.start, turn.end)] = turn.speaker
            detail = DiarizationErrorRate()(ref, hyp, uem=ref.get_timeline().extent(), detailed=True)
            total = detail["total"]
            print(
                f"{name:12} num_speakers={given!s:4} found {len(hyp.labels())}/{n}  "
                f"DER {detail['diarization error rate']:6.1%}  (confusion {detail['confusion'] / total:.1%}, "
                f"missed {detail['missed detection'] / total:.1%}, false alarm {detail['false alarm'] / total:.1%})"
                f"  {seconds:.2f} s"
            )


def commit_delays(deltas: list[tuple[float, str]], done: dict) -> list[float]:
    """Seconds from each word's end in the audio to the delta that committed it."""
    ends = [w["end"] for s in done["segments"] for w in s["words"]]
    delays, k = [], 0
    for emitted, text in deltas:
        k += len(text.split())
        if 0 < k <= len(ends):
            delays.append(emitted - ends[k - 1])
    return delays


def stream_once(engine, audio, **options) -> dict:
    """Stream *audio* at real-time pace through ``engine.stream``; commit delays, busy time, text.

    Busy time is the wall time spent in :meth:`LocalAgreement.update` and ``finish`` (decodes,
    speech detection, commits), so this measures any version of voxnb's streaming alike; CPU
    is the process's CPU seconds in them (all threads), which other jobs on the machine inflate less.
    """
    from voxnb.local.stream import LocalAgreement

    pcm = audio.to_pcm16()
    chunk = 3200  # 100 ms
    busy: list[float] = []
    cpu: list[float] = []
    originals = {name: getattr(LocalAgreement, name) for name in ("update", "finish")}

    def timed_generator(name):
        def run(self, *args, **kwargs):
            began, began_cpu = time.perf_counter(), time.process_time()
            try:
                yield from originals[name](self, *args, **kwargs)
            finally:
                busy.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)

        return run

    for name in originals:
        setattr(LocalAgreement, name, timed_generator(name))
    began = time.perf_counter()

    def paced():
        for i in range(0, len(pcm), chunk):
            wait = began + i / 32000 - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            yield pcm[i : i + chunk]

    deltas = []
    try:
        for event in engine.stream(paced(), **options):
            if event["type"] == "transcription.text.delta":
                deltas.append((time.perf_counter() - began, event["text"]))
            done = event
    finally:
        for name, original in originals.items():
            setattr(LocalAgreement, name, original)
    delays = commit_delays(deltas, done)
    return {
        "delays": delays,
        "busy": sum(busy) / audio.duration,
        "cpu": sum(cpu) / audio.duration,
        "text": done["text"],
        "updates": len(busy),
    }


def simulate_once(engine, audio, speedup: float, **options) -> dict:
    """Streaming on a virtual clock: audio arrives in real time, each update takes its CPU time / *speedup*.

    This estimates what a machine with two free cores would show when the machine at hand is
    shared: CPU seconds are little inflated by other jobs, wall time is. *speedup* is how much
    faster than one core CTranslate2 runs on the cores it has (1.6 on 2 cores).
    """
    from voxnb.local.stream import LocalAgreement

    pcm = audio.to_pcm16()
    chunk, clock, fed, busy = 3200, 0.0, 0, 0.0
    state = LocalAgreement(engine, **options)
    deltas: list[tuple[float, str]] = []

    def run(events_of) -> list:
        nonlocal clock, busy
        began = time.process_time()
        events = list(events_of())
        took = (time.process_time() - began) / speedup
        clock += took
        busy += took
        return events

    while fed < len(pcm):
        arrived = min(len(pcm), max(fed + chunk, int(clock * 32000) // chunk * chunk))
        state.feed(pcm[fed:arrived])
        fed = arrived
        clock = max(clock, fed / 32000)
        if state.due:
            events = run(state.update)
            deltas += [(clock, e["text"]) for e in events if e["type"] == "transcription.text.delta"]
    events = run(state.finish)
    deltas += [(clock, e["text"]) for e in events if e["type"] == "transcription.text.delta"]
    done = events[-1]
    delays = commit_delays(deltas, done)
    return {"delays": delays, "busy": busy / audio.duration, "cpu": busy * speedup / audio.duration,
            "text": done["text"], "updates": 0}  # fmt: skip


def bench_stream(engine, runs: int = 1, speedup: float | None = None, **options) -> None:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    pace = f"virtual clock, CPU time / {speedup}" if speedup else "real-time pace"
    section(f"streaming at {pace} ({options or 'default options'}; medians of {runs} runs)")
    normalize = EnglishTextNormalizer()
    cases = {
        "dialogue sample (TTS)": (voxnb.data.audio("dialogue"), voxnb.data.reference("dialogue")["text"])
    }
    fixture = Path(__file__).resolve().parents[1] / "tests" / "data" / "asterisk_en.ogg"
    if fixture.is_file():
        import json

        cases["asterisk-en (real)"] = (
            voxnb.Audio.load(fixture),
            json.loads(fixture.with_suffix(".json").read_text())["text"],
        )
    for name, (audio, reference) in cases.items():
        if speedup:
            results = [simulate_once(engine, audio, speedup, **options) for _ in range(runs)]
        else:
            results = [stream_once(engine, audio, **options) for _ in range(runs)]
        median_delay = statistics.median(statistics.median(r["delays"]) for r in results)
        p90 = statistics.median(float(np.percentile(r["delays"], 90)) for r in results)
        busy = statistics.median(r["busy"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        wer = statistics.median(jiwer.wer(normalize(reference), normalize(r["text"])) for r in results)
        print(
            f"{name:24} commit delay median {median_delay:.2f} s (90th pct {p90:.2f} s; goal <= 1.5)  "
            f"busy {busy:.2f} of real time (goal <= 0.7; CPU {cpu:.2f} core-s per s)  WER {wer:.1%}  "
            f"updates {statistics.median(r['updates'] for r in results):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions for the medians (default 3)")
    parser.add_argument("--skip-long", action="store_true", help="skip the 10-minute file")
    parser.add_argument("--skip-stream", action="store_true", help="skip the 45 s real-time streaming run")
    parser.add_argument(
        "--only", choices=("rtf", "wer", "models", "segments", "align", "der", "stream"), default=None
    )
    parser.add_argument("--hop", type=float, default=None, help="streaming: seconds between decodes")
    parser.add_argument(
        "--max-delay", type=float, default=None, help="streaming: commit words older than this"
    )
    parser.add_argument("--settle", type=float, default=None, help="streaming: commit from one decode after")
    parser.add_argument(
        "--simulate",
        type=float,
        default=None,
        metavar="SPEEDUP",
        help="streaming on a virtual clock: each update takes its CPU time / SPEEDUP (a shared machine)",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    engine = get_engine()
    print(f"engine: {engine.model} ({engine.path}); model loaded in {time.perf_counter() - began:.2f} s")
    stream_options = {
        k: v
        for k, v in (("hop", args.hop), ("max_delay", args.max_delay), ("settle", args.settle))
        if v is not None
    }
    runs = {
        "rtf": lambda: bench_rtf(engine, args.runs, args.skip_long),
        "wer": lambda: bench_wer(engine),
        "models": bench_models,
        "segments": lambda: bench_segments(engine),
        "align": lambda: bench_alignment(engine),
        "der": bench_der,
        "stream": lambda: bench_stream(engine, args.runs, args.simulate, **stream_options),
    }
    for name, run in runs.items():
        if args.only in (None, name) and not (name == "stream" and args.skip_stream):
            run()


if __name__ == "__main__":
    main()
