// voxnb Recorder: browser microphone -> 16 kHz s16le chunks -> the kernel (anywidget ESM).
//
// Capture runs at the AudioContext's own rate (44.1 kHz under Chromium's fake device, often
// 48 kHz on laptops; never assumed) and is resampled here with a windowed-sinc low-pass so the
// kernel receives exactly what Voxtral expects. Chunks of `chunk_ms` travel as binary buffers in
// `{type: "chunk"}` messages; the kernel answers `started`, `ack` (every few chunks) and may ask
// us to `stop`. Everything the user must act on is said inside the widget.

// ---------------------------------------------------------------- resampler (worklet + fallback)
// Defined once and shipped into the AudioWorklet as source text (Function.prototype.toString).
class Pcm16Resampler {
  constructor(inRate, outRate, chunkSamples, onChunk) {
    this.step = inRate / outRate;
    // cut off at 90 % of the output Nyquist (7.2 kHz for 16 kHz), relative to the input rate
    this.cut = Math.min(1, outRate / inRate) * 0.9;
    this.half = Math.ceil(8 / this.cut); // 8 zero crossings each side
    this.buf = new Float32Array(16384);
    // primed with `half` zeros, so the first output sample is centred on the first input sample
    this.len = this.half;
    this.t = this.half; // position of the next output sample in buf (input samples)
    this.chunkSamples = chunkSamples;
    this.chunk = new Int16Array(chunkSamples);
    this.n = 0;
    this.sumSq = 0;
    this.onChunk = onChunk;
  }
  tap(d) {
    if (d === 0) return this.cut;
    const x = Math.PI * this.cut * d;
    const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / (this.half + 1)) + 0.08 * Math.cos((2 * Math.PI * d) / (this.half + 1));
    return (this.cut * Math.sin(x)) / x * w; // Blackman-windowed sinc
  }
  push(mono) {
    if (this.len + mono.length > this.buf.length) {
      const grown = new Float32Array(Math.max(this.buf.length * 2, this.len + mono.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(mono, this.len);
    this.len += mono.length;
    while (this.t + this.half + 1 < this.len) {
      const c = Math.floor(this.t);
      const frac = this.t - c;
      let acc = 0;
      for (let k = -this.half; k <= this.half; k++) acc += this.buf[c + k] * this.tap(k - frac);
      this.emit(acc);
      this.t += this.step;
    }
    const keepFrom = Math.floor(this.t) - this.half; // drop what no future output needs
    if (keepFrom > 0) {
      this.buf.copyWithin(0, keepFrom, this.len);
      this.len -= keepFrom;
      this.t -= keepFrom;
    }
  }
  emit(v) {
    const s = Math.max(-1, Math.min(1, v));
    this.sumSq += s * s;
    this.chunk[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.n === this.chunkSamples) this.flush();
  }
  end() {
    // the filter looks `half` samples ahead: zeros let the last real samples out, then send the rest
    this.push(new Float32Array(this.half + 1));
    this.flush();
  }
  flush() {
    if (this.n === 0) return;
    const pcm = this.n === this.chunkSamples ? this.chunk : this.chunk.slice(0, this.n);
    const level = Math.sqrt(this.sumSq / this.n);
    this.onChunk(pcm.buffer, level);
    // a fresh array: the sent one's buffer was transferred (detached, length 0) by postMessage
    this.chunk = new Int16Array(this.chunkSamples);
    this.n = 0;
    this.sumSq = 0;
  }
}

function mixToMono(channels) {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const ch of channels) for (let i = 0; i < out.length; i++) out[i] += ch[i] / channels.length;
  return out;
}

const WORKLET_SOURCE = `${Pcm16Resampler.toString()}
${mixToMono.toString()}
class VoxnbPcm16 extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate, chunkSamples } = options.processorOptions;
    this.rs = new Pcm16Resampler(sampleRate, targetRate, chunkSamples,
      (pcm, level) => this.port.postMessage({ pcm, level }, [pcm]));
    this.port.onmessage = (e) => {
      if (e.data === "flush") { this.rs.end(); this.port.postMessage({ flushed: true }); }
    };
  }
  process(inputs) {
    const input = inputs[0];
    if (input && input.length && input[0].length) this.rs.push(mixToMono(input));
    return true;
  }
}
registerProcessor("voxnb-pcm16", VoxnbPcm16);
`;

// ------------------------------------------------------------------------------- user messages
function describeMediaError(err) {
  const name = (err && err.name) || "Error";
  if (name === "NotAllowedError" || name === "SecurityError")
    return "Microphone permission was denied. Allow the microphone for this page in the browser's site settings (the icon in the address bar), then press Start again.";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError")
    return "No microphone was found. Connect one (or pick an input device in the system settings), then press Start again.";
  if (name === "NotReadableError" || name === "AbortError")
    return "The microphone could not be opened; another application may be using it. Close it, then press Start again.";
  return `Could not start recording (${name}: ${err && err.message}).`;
}

const INSECURE =
  "The microphone only works on a secure page: open Jupyter over https://, or on http://localhost / http://127.0.0.1. " +
  "(Browsers hide the microphone on plain http:// pages from other hosts.) Or record on the kernel's machine with voxnb.transcribe_realtime(\"microphone\").";
const CSP_WORKLET =
  "The page's Content-Security-Policy blocks blob: scripts, so the AudioWorklet could not load; recording with the older ScriptProcessor instead (script-src should allow blob:).";
const BUSY =
  "The kernel is busy running a cell: audio is being queued and nothing is lost; live text resumes when the cell finishes.";

function fmtTime(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  node.className = cls;
  if (text) node.textContent = text;
  return node;
}

// ------------------------------------------------------------------------------------- the view
function render({ model, el: root }) {
  root.classList.add("voxnb-recorder");
  const bar = el("div", "voxnb-recorder-bar");
  const start = el("button", "voxnb-recorder-start", "● Start");
  const stop = el("button", "voxnb-recorder-stop", "■ Stop");
  const meter = el("div", "voxnb-recorder-meter");
  const meterFill = el("div", "voxnb-recorder-meter-fill");
  const elapsed = el("span", "voxnb-recorder-elapsed", "0:00.0");
  const status = el("div", "voxnb-recorder-status");
  const text = el("div", "voxnb-recorder-text");
  // captions: the live text large enough for a room (see recorder.css), last two lines only
  const captionsToggle = el("button", "voxnb-recorder-captions-toggle", "Aa Captions");
  const captions = el("div", "voxnb-recorder-captions");
  const captionLines = el("div", "voxnb-recorder-captions-lines");
  const captionText = el("div", "voxnb-recorder-captions-text");
  const captionFinal = el("span", "voxnb-recorder-captions-final");
  const captionPartial = el("span", "voxnb-recorder-captions-partial");
  const fullscreen = el("button", "voxnb-recorder-fullscreen", "Full screen");
  start.type = stop.type = captionsToggle.type = fullscreen.type = "button";
  stop.disabled = true;
  meter.appendChild(meterFill);
  captionText.append(captionFinal, captionPartial);
  captionLines.appendChild(captionText);
  captions.append(fullscreen, captionLines);
  bar.append(start, stop, meter, elapsed, captionsToggle);
  root.append(bar, status, captions, text);

  let rec = null; // the capture in progress
  let localNote = ""; // a browser-side message that overrides the kernel's
  let lastAck = 0;

  const showStatus = () => {
    const kernel = model.get("message") || model.get("status");
    status.textContent = localNote || kernel;
    status.dataset.state = localNote && rec === null ? "error" : model.get("status");
  };
  const showText = () => {
    const live = model.get("text");
    text.textContent = live;
    text.scrollTop = text.scrollHeight;
    // while the take runs, the last word may still be arriving (deltas can end inside a word):
    // shown dimmed until a space or punctuation closes it; after the take everything is final
    const running = ["recording", "finishing"].includes(model.get("status"));
    const tail = running && !/[\s.,;:!?…]$/.test(live) ? (live.match(/\S+$/) || [""])[0] : "";
    captionFinal.textContent = live.slice(0, live.length - tail.length);
    captionPartial.textContent = tail;
    root.dataset.captionUpdates = String(Number(root.dataset.captionUpdates || 0) + 1); // for automation
  };
  const showCaptions = () => {
    const on = model.get("captions");
    root.dataset.captions = String(on);
    captionsToggle.setAttribute("aria-pressed", String(on));
    captionsToggle.title = on ? "Hide the captions" : "Show the live text as large captions for the room";
  };
  model.on("change:text", showText);
  model.on("change:status", () => { showStatus(); showText(); });
  model.on("change:message", showStatus);
  model.on("change:captions", showCaptions);
  captionsToggle.addEventListener("click", () => {
    model.set("captions", !model.get("captions"));
    model.save_changes();
  });
  fullscreen.addEventListener("click", () => {
    if (document.fullscreenElement === captions) document.exitFullscreen();
    else if (captions.requestFullscreen) captions.requestFullscreen().catch(() => {});
  });
  showText();
  showStatus();
  showCaptions();

  const fail = (message, detail) => {
    localNote = message;
    model.send({ type: "error", message, detail: String(detail || "") });
    showStatus();
  };

  model.on("msg:custom", (msg) => {
    if (!msg || !rec) return;
    if (msg.type === "started" || msg.type === "ack") {
      lastAck = Date.now();
      if (localNote === BUSY) { localNote = ""; showStatus(); }
    } else if (msg.type === "stop") {
      stopRecording();
    }
  });

  async function startRecording() {
    localNote = "";
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail(INSECURE, window.location.origin);
      return;
    }
    start.disabled = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      start.disabled = false;
      fail(describeMediaError(err), err && err.name);
      return;
    }
    const ctx = new AudioContext(); // its own rate: read ctx.sampleRate, never assume one
    await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const chunkSamples = Math.round((model.get("sample_rate") * model.get("chunk_ms")) / 1000);
    const t0 = Date.now();
    rec = { stream, ctx, source, node: null, seq: 0, t0, timer: null, mode: "worklet" };
    lastAck = t0;
    const onChunk = (pcm, level) => {
      if (!rec) return;
      model.send({ type: "chunk", seq: rec.seq++, level }, undefined, [pcm]);
      root.dataset.chunks = String(rec.seq); // for automation: chunks sent so far
      meterFill.style.width = `${Math.min(100, Math.round(Math.sqrt(level) * 180))}%`;
    };
    let cspBlocked = false;
    const onViolation = () => { cspBlocked = true; };
    document.addEventListener("securitypolicyviolation", onViolation);
    try {
      if (model.get("force_script_processor") || !ctx.audioWorklet) throw new Error("no AudioWorklet");
      const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: "application/javascript" }));
      try { await ctx.audioWorklet.addModule(url); } finally { URL.revokeObjectURL(url); }
      const node = new AudioWorkletNode(ctx, "voxnb-pcm16", {
        numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit",
        processorOptions: { targetRate: model.get("sample_rate"), chunkSamples },
      });
      node.port.onmessage = (e) => {
        if (e.data.pcm) onChunk(e.data.pcm, e.data.level);
        else if (e.data.flushed && rec && rec.onFlushed) rec.onFlushed();
      };
      node.onprocessorerror = (e) => fail(`The audio capture stopped (AudioWorklet error: ${e.message || e}).`, "processorerror");
      source.connect(node);
      rec.node = node;
    } catch (err) {
      // fallback: ScriptProcessor on the main thread (deprecated, but runs where worklets cannot)
      rec.mode = "scriptprocessor";
      if (cspBlocked) localNote = CSP_WORKLET;
      const resampler = new Pcm16Resampler(ctx.sampleRate, model.get("sample_rate"), chunkSamples, onChunk);
      const node = ctx.createScriptProcessor(4096, 1, 1);
      node.onaudioprocess = (e) => resampler.push(e.inputBuffer.getChannelData(0));
      source.connect(node);
      node.connect(ctx.destination); // a ScriptProcessor only runs when connected to the output
      rec.node = node;
      rec.resampler = resampler;
    } finally {
      document.removeEventListener("securitypolicyviolation", onViolation);
    }
    model.send({ type: "start", ctx_rate: ctx.sampleRate, mode: rec.mode, t_js: t0,
                 track: stream.getAudioTracks()[0].getSettings() });
    stop.disabled = false;
    rec.timer = setInterval(() => {
      elapsed.textContent = fmtTime((Date.now() - t0) / 1000);
      if (Date.now() - lastAck > 1500 && localNote === "") { localNote = BUSY; showStatus(); }
    }, 100);
    showStatus();
  }

  async function stopRecording() {
    if (!rec) return;
    const r = rec;
    stop.disabled = true;
    // flush the partial last chunk so the final words reach the kernel
    if (r.mode === "worklet") {
      await new Promise((resolve) => {
        r.onFlushed = resolve;
        r.node.port.postMessage("flush");
        setTimeout(resolve, 500);
      });
    } else {
      r.resampler.end();
    }
    r.source.disconnect();
    r.node.disconnect();
    r.stream.getTracks().forEach((t) => t.stop());
    clearInterval(r.timer);
    rec = null;
    if (localNote === BUSY) localNote = "";
    model.send({ type: "stop", sent: r.seq, t_js: Date.now() });
    meterFill.style.width = "0%";
    start.disabled = false;
    await r.ctx.close();
    showStatus();
  }

  start.addEventListener("click", () => startRecording().catch((err) => {
    start.disabled = false;
    fail(`Could not start recording: ${err && err.message}`, err && err.name);
  }));
  stop.addEventListener("click", () => stopRecording());
  model.send({ type: "ready" });

  return () => {
    // the view was removed: release the microphone and let the kernel finish the take
    if (rec) {
      rec.stream.getTracks().forEach((t) => t.stop());
      clearInterval(rec.timer);
      rec.ctx.close();
      model.send({ type: "stop", sent: rec.seq, t_js: Date.now() });
      rec = null;
    }
  };
}

export default { render };
