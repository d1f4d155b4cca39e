"""voxnb.plot: exact envelopes, windowed redraws, lanes, edge cases and image regression.

Image baselines live in tests/baseline_images/test_plot/. After an intended change of a figure,
regenerate them with ``VOXNB_UPDATE_BASELINES=1 pytest tests/test_plot.py`` and look at them.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.testing import set_font_settings_for_testing, set_reproducibility_for_testing
from matplotlib.testing.compare import compare_images

import voxnb
from voxnb import plot
from voxnb.audio import Audio
from voxnb.errors import ParameterError

SR = 16000
BASELINES = Path(__file__).parent / "baseline_images" / "test_plot"
RMS_TOLERANCE = 2.0  # on 0-255 pixel values; font rasterisation differences stay well under it


@pytest.fixture(autouse=True)
def fixed_style():
    """Bundled DejaVu fonts, no hinting, a fixed dpi: pixels depend on matplotlib's version only."""
    with matplotlib.rc_context():
        matplotlib.style.use("default")
        set_font_settings_for_testing()
        set_reproducibility_for_testing()
        matplotlib.rcParams["figure.dpi"] = 60
        matplotlib.rcParams["savefig.dpi"] = 60
        yield
    plt.close("all")


def synthetic_audio(seconds: float = 12.0, seed: int = 0) -> Audio:
    """Bursts of a 300 Hz tone and a 2 kHz tone separated by quiet noise, deterministic."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    low = np.sin(2 * np.pi * 300 * t) * ((t % 4) < 1.5)
    high = 0.5 * np.sin(2 * np.pi * 2000 * t) * (((t + 2) % 4) < 1.0)
    y = 0.4 * (low + high) + 0.01 * rng.standard_normal(t.size)
    return Audio.from_array(y.astype(np.float32), SR)


def make_transcript(segments: list[tuple[float, float, str, str]]) -> voxnb.Transcript:
    """A Mistral-shaped response with per-word times spread evenly inside each segment."""
    out = []
    for start, end, speaker, text in segments:
        tokens = text.split()
        bounds = np.linspace(start, end, len(tokens) + 1)
        words = [
            {"text": w, "start": float(a), "end": float(b)}
            for w, a, b in zip(tokens, bounds[:-1], bounds[1:])
        ]
        out.append({"text": " " + text, "start": start, "end": end, "speaker_id": speaker, "words": words})
    return voxnb.Transcript.from_response(
        {"text": " ".join(s[3] for s in segments), "segments": out, "model": "test-model"}
    )


DIALOGUE = [
    (0.2, 1.5, "speaker_1", "good morning everyone"),
    (2.0, 3.0, "speaker_2", "hello"),
    (4.1, 5.4, "speaker_1", "the quarterly numbers are in"),
    (6.0, 7.2, "speaker_2", "finally some good news"),
    (8.0, 11.5, "speaker_1", "revenue grew by twelve percent while costs stayed flat"),
]


@pytest.fixture
def audio():
    return synthetic_audio()


@pytest.fixture
def transcript():
    return make_transcript(DIALOGUE)


def assert_matches_baseline(fig, name: str, tmp_path: Path) -> None:
    actual = tmp_path / f"{name}.png"
    fig.savefig(actual)
    expected = BASELINES / f"{name}.png"
    if os.environ.get("VOXNB_UPDATE_BASELINES") == "1":
        BASELINES.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"no baseline {expected}; create it with VOXNB_UPDATE_BASELINES=1"
    result = compare_images(str(expected), str(actual), tol=RMS_TOLERANCE, in_decorator=True)
    assert result is None, f"{name}: {result}"


# -- numbers behind the pictures ----------------------------------------------------------------------


def envelope_drawn(ax) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper outline of the waveform's fill, one value per column."""
    (fill,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    vertices = fill.get_paths()[0].vertices
    return vertices[:, 0], vertices[:, 1]


def visible_texts(ax) -> set[str]:
    return {t.get_text() for t in ax.texts if t.get_visible()}


def test_waveform_envelope_is_exact_per_pixel_column():
    rng = np.random.default_rng(11)
    y = rng.standard_normal(SR * 7 + 123).astype(np.float32)
    audio = Audio.from_array(y, SR)
    ax = plot.waveform(audio)
    n = round(ax.get_window_extent().width)
    edges, lo, hi = audio.envelope(n)
    assert lo.size == n
    # every column's extremes are numpy's min/max of exactly its samples
    bounds = np.rint(edges * SR).astype(int)
    assert bounds[0] == 0 and bounds[-1] == y.size
    np.testing.assert_array_equal(lo, [y[a:b].min() for a, b in itertools.pairwise(bounds)])
    np.testing.assert_array_equal(hi, [y[a:b].max() for a, b in itertools.pairwise(bounds)])
    xs, ys = envelope_drawn(ax)
    assert set(ys.astype(np.float32)) == set(np.concatenate([lo, hi]))
    assert xs.min() == pytest.approx(0) and xs.max() == pytest.approx(y.size / SR)


def test_waveform_draws_raw_samples_when_zoomed_in(audio):
    ax = plot.waveform(audio, start=1.0, end=1.01)  # 160 samples on hundreds of pixels
    (line,) = [a for a in ax.lines if isinstance(a, Line2D)]
    i = int(1.0 * SR)
    np.testing.assert_array_equal(line.get_ydata(), audio.y[i : i + 160])
    np.testing.assert_allclose(line.get_xdata(), (i + np.arange(160)) / SR)


def test_waveform_redraws_for_the_new_window(audio):
    ax = plot.waveform(audio)
    ax.set_xlim(3.0, 3.005)  # 80 samples: switches to the raw samples
    (line,) = ax.lines
    assert line.get_xdata()[0] == pytest.approx(3.0) and len(line.get_xdata()) == 80
    ax.set_xlim(0, 12)  # and back to one envelope
    assert not ax.lines and len(ax.collections) == 1


@pytest.mark.parametrize(("start", "end"), [(-2.0, 0.5), (11.5, 14.0), (11.99, 12.0)])
def test_windows_at_the_file_edges(audio, start, end):
    ax = plot.waveform(audio, start=start, end=end)
    assert ax.get_xlim() == (start, end)
    drawn = ax.lines[0].get_xdata() if ax.lines else envelope_drawn(ax)[0]
    assert drawn.min() >= 0 and drawn.max() <= audio.duration + 1e-9
    sax = plot.spectrogram(audio, start=start, end=end)
    (image,) = sax.images
    left, right, _, _ = image.get_extent()
    assert left == pytest.approx(max(start, 0)) and right == pytest.approx(min(end, audio.duration))


def test_window_wholly_past_the_audio_draws_nothing(audio):
    ax = plot.waveform(audio, start=20, end=30)
    assert not ax.lines and not ax.collections
    sax = plot.spectrogram(audio, start=20, end=30)
    assert not sax.images


def test_spectrogram_is_computed_for_the_window_only_and_cached(audio):
    ax = plot.spectrogram(audio, kind="linear", start=0.0, end=1.0)
    (image,) = ax.images
    data = image.get_array()
    width = round(ax.get_window_extent().width)
    assert data.shape[1] <= width
    assert image.get_extent()[:2] == pytest.approx((0.0, 1.0))
    # a 300 Hz tone plays in the first second: its band is the loudest
    row = np.asarray(data).mean(axis=1).argmax()
    _, _, freqs = audio.spectrogram(kind="linear", start=0, end=1, n_frames=width)
    assert freqs[row] <= 300 <= freqs[row + 1]
    cached = len(audio._cache)
    ax.set_xlim(2.0, 2.5)
    assert image.get_extent()[:2] == pytest.approx((2.0, 2.5))
    ax.set_xlim(0.0, 1.0)  # back: served from the cache
    assert len(audio._cache) == cached + 1


def test_speaker_colours_are_stable_across_windows_and_plots(transcript):
    colors = plot.speaker_colors(transcript)
    assert list(colors) == ["speaker_1", "speaker_2", plot.NO_SPEAKER]
    only_second = plot.lanes(transcript, start=1.9, end=3.1)  # only speaker_2 speaks here
    facecolors = {tuple(c.get_facecolor()[0]) for c in only_second.collections}
    assert facecolors == {matplotlib.colors.to_rgba(colors["speaker_2"])}
    assert [t.get_text() for t in only_second.get_yticklabels()] == ["speaker_1", "speaker_2"]
    assert plot.speaker_colors(transcript) == colors
    natural = plot.speaker_colors(make_transcript([(0, 1, "speaker_10", "a"), (1, 2, "speaker_9", "b")]))
    assert list(natural)[:2] == ["speaker_9", "speaker_10"]


def test_lanes_write_text_only_where_it_fits(transcript):
    ax = plot.lanes(transcript, level="words", start=0, end=12)
    written = visible_texts(ax)
    assert "hello" in written  # a lone 1 s word has room
    ax.set_xlim(8.0, 8.35)  # zoomed into one word: it is written, others are not drawn at all
    assert visible_texts(ax) == {"revenue"}


def test_lanes_merge_items_narrower_than_a_pixel():
    n = 50_000
    starts = np.arange(n) * 0.2
    import pandas as pd

    words = pd.DataFrame(
        {
            "start": starts,
            "end": starts + 0.15,
            "text": ["w"] * n,
            "speaker": pd.Categorical(["speaker_1"] * n),
        }
    )
    ax = plot.lanes(words, level="words")
    (bars,) = ax.collections
    width = round(ax.get_window_extent().width)
    assert len(bars.get_paths()) <= width
    ax.set_xlim(100, 101)  # five words, drawn separately
    (bars,) = ax.collections
    assert len(bars.get_paths()) == 5
    assert visible_texts(ax) <= {"w"}


def test_empty_transcript_still_plots(audio):
    empty = voxnb.Transcript.from_response({"text": "", "segments": []})
    fig = plot.transcript_figure(empty, audio)
    assert len(fig.axes) == 3  # no words row without words
    lane_ax = fig.axes[2]
    assert "no timed turns" in visible_texts(lane_ax)
    assert fig.axes[0].get_xlim() == (0.0, audio.duration)
    untimed = voxnb.Transcript.from_response({"text": "hello there"})
    assert plot.transcript_figure(untimed, audio).axes[0].get_xlim() == (0.0, audio.duration)


def test_transcript_longer_than_the_audio_is_shaded(audio):
    long = make_transcript([*DIALOGUE, (13.0, 15.0, "speaker_2", "are you still there")])
    fig = plot.transcript_figure(long, audio)
    assert fig.axes[0].get_xlim() == pytest.approx((0.0, 15.0))
    for ax in fig.axes:
        shades = [
            p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb(plot._BEYOND_AUDIO)
        ]
        assert len(shades) == 1
        assert shades[0].get_x() == pytest.approx(audio.duration)


def test_transcript_figure_zoom_redraws_every_row(transcript, audio):
    fig = transcript.plot(audio)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 4
    wave_ax, spec_ax, _turns_ax, words_ax = fig.axes
    wave_ax.set_xlim(8.0, 8.2)
    image = next(a for a in spec_ax.get_children() if isinstance(a, AxesImage))
    assert image.get_extent()[:2] == pytest.approx((8.0, 8.2))
    assert visible_texts(words_ax) == {"revenue", "words"}  # the word, the row name
    assert wave_ax.collections or wave_ax.lines
    assert words_ax.get_xlabel() == "time (s)" and not wave_ax.get_xlabel()  # one label, under the last row


def test_compare_flags_the_words_that_differ(transcript, audio):
    other = make_transcript(
        [*DIALOGUE[:4], (8.0, 11.5, "speaker_1", "Revenue grew by 12 percent while costs stayed very flat!")]
    )
    first, second = plot.word_differences(transcript.words, other.words)
    assert transcript.words["text"][first].tolist() == ["twelve"]
    assert other.words["text"][second].tolist() == ["12", "very"]
    fig = transcript.compare(other, audio, labels=("plain", "biased"))
    lane_ax = fig.axes[-1]

    def bars(color):
        return [
            c for c in lane_ax.collections if tuple(c.get_facecolor()[0]) == matplotlib.colors.to_rgba(color)
        ]

    from voxnb.differences import COLORS

    assert len(bars(COLORS["substitution"])) == 2  # one in each lane
    assert len(bars(COLORS["insertion"])) == 1 and not bars(COLORS["deletion"])
    labels = [t.get_text() for t in lane_ax.get_yticklabels()]
    assert labels == ["plain\n1 of 22 differ", "biased\n2 of 23 differ"]
    assert fig.axes[0].get_title(loc="left") == (
        "plain vs biased: 1 substituted, 0 only in plain, 1 only in biased (21 the same)"
    )
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["same", "substituted", "only in plain", "only in biased"]
    # whole words only: no label is cut, and the differing words are labelled
    shown = visible_texts(lane_ax)
    assert not any("…" in t for t in shown) and {"twelve", "12", "very"} <= shown
    assert lane_ax.get_xlabel() == "time (s)"
    without_audio = plot.compare(transcript, other)
    assert len(without_audio.axes) == 1 and without_audio.axes[0].get_xlabel() == "time (s)"


def test_compare_takes_its_labels_from_names_runs_or_what_differs(transcript):
    other = voxnb.Transcript.from_response(transcript.raw, request={"context_bias": ["Revenue", "twelve"]})
    assert [
        t.get_text().split("\n")[0] for t in plot.compare(transcript, other).axes[-1].get_yticklabels()
    ] == [
        "no context_bias",
        "context_bias (2 terms)",
    ]
    for both in (
        {"plain": transcript, "biased": other},
        voxnb.concat({"plain": transcript, "biased": other}, level="words"),
    ):
        fig = plot.compare(both)
        assert [t.get_text().split("\n")[0] for t in fig.axes[-1].get_yticklabels()] == ["plain", "biased"]
    with pytest.raises(ParameterError, match="two runs"):
        plot.compare(voxnb.concat({"a": transcript}, level="words"))


def test_diff_gives_an_aligned_table_and_an_html_view(transcript):
    other = make_transcript(
        [*DIALOGUE[:4], (8.0, 11.5, "speaker_1", "revenue grew by 12 percent while costs flat")]
    )
    d = transcript.diff(other, labels=("plain", "biased"))
    assert d.counts == {"match": 20, "substitution": 1, "insertion": 0, "deletion": 1}
    changed = d.table[d.table["op"] != "match"]
    assert changed[["op", "first_text", "second_text"]].astype(object).where(
        changed.notna(), None
    ).values.tolist() == [
        ["substitution", "twelve", "12"],
        ["deletion", "stayed", None],
    ]
    row = changed.iloc[0]
    assert row["first_start"] == pytest.approx(transcript.words["start"][row["first_word"]])
    html = d.to_html()
    assert "<del>twelve</del><ins>12</ins>" in html and "voxnb-diff-del'" in html and "only in plain" in html
    assert html.count("voxnb-diff-gap") == 1  # only the style rule: nothing elided
    assert "good" not in d.to_html(errors_only=True, context=2)  # far from the differences: elided
    assert voxnb.diff(transcript, other).labels == ("first", "second")


def test_bad_parameters_raise_parameter_error(transcript, audio):
    with pytest.raises(ParameterError, match="level"):
        plot.lanes(transcript, level="letters")
    with pytest.raises(ParameterError, match="after"):
        plot.waveform(audio, start=5, end=2)
    with pytest.raises(ParameterError, match="kind"):
        plot.spectrogram(audio, kind="cqt")
    for options in (
        {"n_mels": 0},
        {"n_fft": 0},
        {"n_fft": -4},
        {"top_db": -5},
    ):  # numpy/matplotlib errors before
        with pytest.raises(ParameterError, match=next(iter(options))):
            plot.spectrogram(audio, **options)
    for width in (1.0, 0, -3, float("nan")):  # matplotlib would fail on the margins or the size
        with pytest.raises(ParameterError, match="width"):
            plot.transcript_figure(transcript, audio, width=width)
    with pytest.raises(ParameterError, match="two names"):  # a lane would be dropped silently
        plot.compare(transcript, transcript, labels=("only one",))


def test_plots_compose_on_given_axes(transcript, audio):
    _fig, axes = plt.subplots(3, 1)
    assert plot.waveform(audio, ax=axes[0]) is axes[0]
    assert plot.spectrogram(audio, ax=axes[1]) is axes[1]
    assert plot.lanes(transcript, ax=axes[2]) is axes[2]


# -- image regression ---------------------------------------------------------------------------------


def test_image_transcript_figure(transcript, audio, tmp_path):
    assert_matches_baseline(
        plot.transcript_figure(transcript, audio, width=10), "transcript_figure", tmp_path
    )


def test_image_transcript_figure_zoomed(transcript, audio, tmp_path):
    fig = plot.transcript_figure(transcript, audio, start=3.9, end=6.1, kind="linear", width=10)
    assert_matches_baseline(fig, "transcript_figure_zoomed", tmp_path)


def test_image_compare(transcript, audio, tmp_path):
    other = make_transcript(
        [*DIALOGUE[:4], (8.0, 11.5, "speaker_1", "revenue grew by 12 percent while cost stayed flat")]
    )
    assert_matches_baseline(
        plot.compare(transcript, other, audio, labels=("plain", "biased"), width=10), "compare", tmp_path
    )


def test_image_waveform_samples(audio, tmp_path):
    ax = plot.waveform(audio, start=1.0, end=1.004)
    assert_matches_baseline(ax.figure, "waveform_samples", tmp_path)


def test_clock_labels():
    assert [plot._clock(x, 3) for x in (0, 12.5, 245, 3723.5, -1.25)] == [
        "0",
        "12.5",
        "4:05",
        "1:02:03.5",
        "-1.25",
    ]
    assert plot._clock(59.9996, 3) == "1:00"


def test_time_ticks_fall_on_clock_steps():
    locator = plot._ClockLocator()
    assert locator.tick_values(0, 10800).tolist() == [0, 1800, 3600, 5400, 7200, 9000, 10800]
    assert locator.tick_values(10370, 10380).tolist() == list(range(10370, 10381, 2))
    np.testing.assert_allclose(
        locator.tick_values(1.0, 1.004), [1.0, 1.0005, 1.001, 1.0015, 1.002, 1.0025, 1.003, 1.0035, 1.004]
    )


def test_transcript_without_speakers_draws_one_unnamed_lane(audio):
    t = voxnb.Transcript.from_response(
        {
            "text": "a b",
            "segments": [
                {"text": " one two", "start": 1.0, "end": 2.0},
                {"text": " three", "start": 3.0, "end": 4.0},
            ],
        }
    )
    fig = plot.transcript_figure(t, audio)
    for lane_ax in fig.axes[2:]:
        assert [label.get_text() for label in lane_ax.get_yticklabels()] == [plot.NO_SPEAKER]
    (bars,) = fig.axes[2].collections
    assert matplotlib.colors.to_hex(bars.get_facecolor()[0]) == plot.speaker_colors(t)[plot.NO_SPEAKER]


def test_interpolated_word_times_are_drawn_faint(audio):
    guessed = voxnb.Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": " times spread by characters", "start": 1.0, "end": 3.0, "speaker_id": "speaker_1"}
            ],
        }
    )
    assert set(guessed.words["timing"]) == {"interpolated"}
    fig = plot.transcript_figure(guessed, audio)
    words_ax = fig.axes[3]
    assert [c.get_alpha() for c in words_ax.collections] == [plot._FAINT_ALPHA]
    assert "words (faint: times interpolated, not measured)" in visible_texts(words_ax)
    measured = plot.transcript_figure(make_transcript(DIALOGUE), audio).axes[3]
    assert {c.get_alpha() for c in measured.collections} == {1.0}


@pytest.mark.parametrize(
    ("start", "end", "first", "count"),
    [
        (1.0, 1.01, 16000, 160),  # 160 samples, hundreds of pixels: a line through the samples
        (2.5, 2.5025, 40000, 40),  # so few that each sample gets a dot
        (0.0, 0.001, 0, 16),  # at the very start of the file
        (11.999, 12.5, 191984, 16),  # running past the end: only the samples that exist
        (5.00003, 5.0013, 80000, 21),  # edges between samples round to the nearest sample
    ],
)
def test_zoomed_in_waveforms_draw_exactly_the_window_samples(audio, start, end, first, count):
    ax = plot.waveform(audio, start=start, end=end)
    n = round(ax.get_window_extent().width)
    assert count < n
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_ydata(), audio.y[first : first + count])
    np.testing.assert_allclose(line.get_xdata(), (first + np.arange(count)) / SR)
    # a dot per sample only where they are far apart (more than 8 pixels each)
    assert line.get_marker() == ("." if count * 8 < n else "None")
    peak = np.abs(audio.y[first : first + count]).max()
    assert ax.get_ylim() == pytest.approx((-peak * 1.08, peak * 1.08))


def test_zooming_in_replaces_the_envelope_and_keeps_the_first_amplitude_axis(audio):
    ax = plot.waveform(audio, start=0.0, end=12.0)
    whole = float(np.abs(audio.y).max())
    assert not ax.lines and len(ax.collections) == 1
    ax.set_xlim(1.0, 1.002)  # 32 samples
    assert len(ax.lines) == 1 and not ax.collections  # the fill is gone, not hidden under the line
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), audio.y[16000:16032])
    ax.set_xlim(20.0, 30.0)  # nothing there: nothing drawn
    assert not ax.lines and not ax.collections
    assert ax.get_ylim() == pytest.approx((-whole * 1.08, whole * 1.08))  # set once, for the first window


def test_a_silent_window_still_gets_a_visible_amplitude_axis():
    silent = Audio.from_array(np.zeros(SR, np.float32), SR)
    ax = plot.waveform(silent)
    assert ax.get_ylim() == pytest.approx((-1.08e-3, 1.08e-3))
    assert ax.get_ylabel() == "amplitude" and ax.get_xlim() == (0.0, 1.0)


def _axes_of_width(pixels: int):
    """Axes exactly *pixels* wide (a 100-dpi figure the axes fill)."""
    fig = plt.figure(figsize=(max(pixels, 1) / 100, 2), dpi=100)
    return fig.add_axes((0, 0, 1, 1))


@pytest.mark.parametrize(("count", "marker"), [(99, "."), (100, "None"), (101, "None")])
def test_a_dot_per_sample_only_when_each_has_more_than_eight_pixels(audio, count, marker):
    ax = _axes_of_width(800)
    # 99 samples on 800 pixels: 8.08 pixels each; 100: exactly 8, no longer "more than 8"
    plot.waveform(audio, start=2.0, end=2.0 + count / SR, ax=ax, color="#123456")
    (line,) = ax.lines
    assert len(line.get_ydata()) == count and line.get_marker() == marker
    assert line.get_color() == "#123456" and line.get_markersize() == 3 and line.get_linewidth() == 0.8


def test_the_envelope_s_last_column_is_drawn_to_the_window_s_end(audio):
    ax = _axes_of_width(400)
    plot.waveform(audio, start=0.0, end=12.0, ax=ax)
    edges, lo, hi = audio.envelope(400, start=0.0, end=12.0)
    assert len({lo[-1], lo[-2], lo[1]}) == 3 and len({hi[-1], hi[-2], hi[1]}) == 3
    xs, ys = envelope_drawn(ax)
    # a step drawn "post" holds each column's value up to the next edge: the last column's
    # extremes reach the last edge
    at_end = set(ys[np.isclose(xs, edges[-1])].astype(np.float32))
    assert at_end == {lo[-1], hi[-1]}


def test_a_one_pixel_wide_axes_draws_one_column(audio):
    ax = _axes_of_width(1)
    plot.waveform(audio, ax=ax)
    xs, ys = envelope_drawn(ax)
    assert set(ys.astype(np.float32)) == {audio.y.min(), audio.y.max()}
    assert set(np.round(xs, 6)) == {0.0, 12.0}  # one column from the start to the end


def test_a_file_is_drawn_at_its_own_sampling_rate(tmp_path):
    import soundfile as sf

    y = np.sin(np.arange(22050) / 7).astype(np.float32) * 0.5
    sf.write(tmp_path / "native.wav", y, 22050, subtype="FLOAT")
    ax = plot.waveform(str(tmp_path / "native.wav"), start=0.5, end=0.5 + 40 / 22050)
    (line,) = ax.lines  # 40 samples at 22 050 Hz, as the file holds them (not resampled to 16 kHz)
    np.testing.assert_allclose(np.diff(line.get_xdata()), 1 / 22050)
    np.testing.assert_array_equal(line.get_ydata(), y[11025 : 11025 + 40])
