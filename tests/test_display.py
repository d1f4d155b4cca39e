"""voxnb.display: the paged, filterable segment table and its browser-kernel messages."""

from __future__ import annotations

import base64
import io
import re
import wave

import numpy as np
import pytest

import voxnb
from voxnb import display
from voxnb.audio import Audio

SR = 16000


def make_transcript(n: int, seconds_each: float = 2.0, speakers=("speaker_1", "speaker_2", "speaker_3")):
    segments = [
        {
            "text": f" Segment {k} says {'budget' if k % 7 == 0 else 'hello'}",
            "start": k * seconds_each,
            "end": (k + 0.9) * seconds_each,  # a tenth of a pause between segments (never reversed)
            "speaker_id": speakers[k % len(speakers)],
        }
        for k in range(n)
    ]
    return voxnb.Transcript.from_response(
        {"text": "".join(s["text"] for s in segments), "segments": segments}
    )


@pytest.fixture
def audio():
    y = np.random.default_rng(0).uniform(-0.5, 0.5, SR * 30).astype(np.float32)
    return Audio.from_array(y, SR)


def test_first_page_and_paging(audio):
    table = display.segment_table(make_transcript(1200, 0.02), audio, page_size=50)
    assert table.total == 1200 and table.pages == 24
    assert [r["segment"] for r in table.rows] == list(range(50))
    table.page = 3
    assert [r["segment"] for r in table.rows] == list(range(150, 200))
    table.page = 99  # past the end: the last page
    assert table.page == 23 and table.rows[-1]["segment"] == 1199
    assert "1200 of 1200 segments, page 24/24" in repr(table)


def test_filters_by_speaker_and_text_reset_the_page(audio):
    transcript = make_transcript(1200, 0.02)
    table = display.segment_table(transcript, audio, page_size=20)
    table.page = 5
    table.speaker = "speaker_2"
    assert table.page == 0
    assert table.total == 400 and all(r["speaker"] == "speaker_2" for r in table.rows)
    table.query = "BUDGET"
    expected = [k for k in range(1200) if k % 3 == 1 and k % 7 == 0]
    assert table.total == len(expected)
    assert [r["segment"] for r in table.rows] == expected[:20]
    table.speaker = ""
    table.query = "segment 1199 "
    assert [r["segment"] for r in table.rows] == [1199]
    assert table.speakers == ["speaker_1", "speaker_2", "speaker_3"]
    assert table.colors == {
        k: v for k, v in voxnb.plot.speaker_colors(transcript).items() if k in table.speakers
    }


def test_play_message_answers_with_the_segments_pcm(audio):
    transcript = make_transcript(10)
    table = display.segment_table(transcript, audio)
    reply, buffers = table.handle_message({"type": "play", "segment": 4})
    assert reply == {
        "type": "audio",
        "segment": 4,
        "sr": SR,
        "channels": 1,
        "start": 8.0,
        "end": pytest.approx(9.8),
    }
    assert buffers == [audio.slice(8.0, 9.8).to_pcm16()]
    assert len(buffers[0]) == int(1.8 * SR) * 2


def test_segments_past_the_audio_and_bad_messages_answer_errors(audio):
    table = display.segment_table(make_transcript(20), audio)  # 40 s of segments, 30 s of audio
    assert [r["playable"] for r in table.rows[14:16]] == [True, False]
    reply, buffers = table.handle_message({"type": "play", "segment": 15})
    assert reply["type"] == "error" and "after the audio ends" in reply["message"] and not buffers
    reply, _ = table.handle_message({"type": "play", "segment": 14})  # 28–29.8 s: inside
    assert reply["type"] == "audio"
    assert table.handle_message({"type": "play", "segment": 99})[0]["message"].startswith(
        "segment 99 does not"
    )
    assert table.handle_message({"type": "play", "segment": "x"})[0]["type"] == "error"
    assert "unknown message type" in table.handle_message({"type": "dance"})[0]["message"]


def test_untimed_segments_cannot_play(audio):
    table = display.segment_table(voxnb.Transcript.from_response({"text": "no timestamps here"}), audio)
    assert table.rows[0]["playable"] is False and table.rows[0]["start"] is None
    assert "no timestamps" in table.handle_message({"type": "play", "segment": 0})[0]["message"]


def test_bad_arguments(audio):
    with pytest.raises(voxnb.ParameterError, match="speaker_9"):
        display.segment_table(make_transcript(3), audio, speaker="speaker_9")
    with pytest.raises(voxnb.ParameterError, match="page_size"):
        display.segment_table(make_transcript(3), audio, page_size=0)
    with pytest.raises(voxnb.ParameterError, match="speaker_9"):  # the static table checks the same
        display.segments_html(make_transcript(3), audio, speaker="speaker_9")
    with pytest.raises(voxnb.ParameterError, match="page_size"):
        display.segments_html(make_transcript(3), audio, page_size=0)


def test_transcript_show_returns_the_widget(audio):
    table = make_transcript(5).show(audio)
    assert isinstance(table, display.SegmentTable)
    assert "msg:custom" in table._esm  # anywidget loaded the ES module from voxnb/segment_table.js


def test_static_html_embeds_one_player_per_playable_row(audio):
    transcript = voxnb.Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": " <b>bold</b> claim", "start": 1.0, "end": 1.5, "speaker_id": "speaker_1"},
                {"text": " too late", "start": 40.0, "end": 41.0, "speaker_id": "speaker_2"},
            ],
        }
    )
    page = display.segments_html(transcript, audio)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page
    players = re.findall(r'src="data:audio/wav;base64,([^"]+)"', page)
    assert len(players) == 1
    with wave.open(io.BytesIO(base64.b64decode(players[0]))) as w:
        assert w.getnframes() == SR // 2
    assert "1 of 1 segments" in display.segments_html(transcript, audio, speaker="speaker_2")


# -- the real browser side: segment_table.js in headless Chromium, bridged to the kernel object -----

HARNESS = """
window.__setup = async (src, state) => {
  const listeners = {};
  window.__changes = []; window.__sent = [];
  const model = {
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; window.__changes.push([k, v]); },
    save_changes: () => {},
    on: (evt, cb) => { (listeners[evt] = listeners[evt] || []).push(cb); },
    send: (msg) => window.__sent.push(msg),
  };
  window.__update = (fresh) => {
    for (const [k, v] of Object.entries(fresh)) {
      if (JSON.stringify(state[k]) === JSON.stringify(v)) continue;
      state[k] = v;
      (listeners["change:" + k] || []).forEach((cb) => cb());
    }
  };
  window.__deliver = (msg, b64) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    (listeners["msg:custom"] || []).forEach((cb) => cb(msg, b64 ? [new DataView(bin.buffer)] : []));
  };
  const mod = await import(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
  const root = document.createElement("div");
  document.body.appendChild(root);
  mod.default.render({ model, el: root });
};
"""

SYNCED = ("rows", "speakers", "colors", "speaker", "query", "page", "page_size", "total")


def bridge(page, table) -> None:
    """Carry the browser's trait changes and messages to the widget object and its answers back."""
    for name, value in page.evaluate("window.__changes.splice(0)"):
        setattr(table, name, value)
    for message in page.evaluate("window.__sent.splice(0)"):
        reply, buffers = table.handle_message(message)
        payload = base64.b64encode(buffers[0]).decode() if buffers else ""
        page.evaluate("([m, b]) => window.__deliver(m, b)", [reply, payload])
    page.evaluate("(s) => window.__update(s)", {name: getattr(table, name) for name in SYNCED})


@pytest.fixture(scope="module")
def browser_page():
    import shutil

    from playwright import sync_api

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "chromium is not installed (as root, `make test` installs it)"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=HARNESS)
        yield page
        browser.close()


@pytest.mark.browser
def test_table_in_a_real_browser_pages_filters_and_plays(browser_page, audio):
    page = browser_page
    segments = [
        {
            "text": f" Segment {k} {'budget' if k % 7 == 0 else 'hello'}",
            "start": k * 0.25,
            "end": k * 0.25 + 0.2,
            "speaker_id": f"speaker_{k % 2 + 1}",
        }
        for k in range(160)
    ]
    segments.append({"text": " beyond the audio", "start": 40.0, "end": 41.0, "speaker_id": "speaker_1"})
    transcript = voxnb.Transcript.from_response({"text": "x", "segments": segments})
    table = display.segment_table(transcript, audio, page_size=50)
    source = table._esm
    page.evaluate(
        "([src, state]) => window.__setup(src, state)",
        [source, {name: getattr(table, name) for name in SYNCED}],
    )
    rows = page.locator(".voxnb-segments tbody tr")
    assert rows.count() == 50
    assert page.locator(".voxnb-info").inner_text() == "161 segments · page 1/4"

    page.get_by_title("next page").click()
    bridge(page, table)
    assert rows.first.get_attribute("data-segment") == "50"
    assert page.locator(".voxnb-info").inner_text() == "161 segments · page 2/4"

    page.get_by_placeholder("filter text…").fill("BUDGET")
    page.wait_for_timeout(400)  # the input is debounced
    bridge(page, table)
    shown = [int(rows.nth(i).get_attribute("data-segment")) for i in range(rows.count())]
    assert shown == [k for k in range(160) if k % 7 == 0]
    page.locator(".voxnb-controls select").select_option("speaker_2")
    bridge(page, table)
    shown = [int(rows.nth(i).get_attribute("data-segment")) for i in range(rows.count())]
    assert shown == [k for k in range(160) if k % 7 == 0 and k % 2 == 1]

    first = rows.first
    first.locator("button.voxnb-play").click()
    bridge(page, table)  # the kernel answers with 0.2 s of PCM; the browser plays it
    page.wait_for_function("document.querySelector('tr.voxnb-playing') !== null", timeout=3000)
    page.wait_for_function("document.querySelector('tr.voxnb-playing') === null", timeout=5000)

    page.get_by_placeholder("filter text…").fill("beyond")
    page.locator(".voxnb-controls select").select_option("")
    page.wait_for_timeout(400)
    bridge(page, table)
    assert rows.count() == 1
    assert rows.first.locator("button.voxnb-play").is_disabled()
    page.evaluate("window.__sent.push({type: 'play', segment: 160})")  # as if forced
    bridge(page, table)
    assert "after the audio ends" in page.locator(".voxnb-status").inner_text()


@pytest.mark.browser
def test_row_times_in_the_browser_round_before_carrying_into_minutes(browser_page, audio):
    page = browser_page
    segments = [
        {"text": " x", "start": start, "end": end, "speaker_id": "speaker_1"}
        for start, end in [(12.5, 59.999), (119.996, 3599.999), (3723.5, 3723.504)]
    ]
    table = display.segment_table(voxnb.Transcript.from_response({"text": "x", "segments": segments}), audio)
    page.evaluate(
        "([src, state]) => window.__setup(src, state)",
        [table._esm, {name: getattr(table, name) for name in SYNCED}],
    )
    times = page.locator(".voxnb-segments").last.locator(".voxnb-time").all_inner_texts()
    assert times == ["12.50–1:00.00", "2:00.00–1:00:00.00", "1:02:03.50–1:02:03.50"]


def test_widget_carries_a_static_table_for_frontends_without_widgets(audio):
    table = display.segment_table(make_transcript(120, 0.2), audio, page_size=10)
    table.page = 2
    bundle = table._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    page = data["text/html"]
    assert "10 of 120 segments (page 3)" in page and "Segment 20 says" in page and "<audio" not in page
