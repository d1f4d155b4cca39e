// voxnb segment table: one page of rows from the kernel; play buttons ask the kernel for PCM.
// Kernel -> browser: traits rows/speakers/colors/total/page/page_size, and custom messages
//   {type: "audio", segment, sr, channels} + one buffer of s16le PCM, or {type: "error", message}.
// Browser -> kernel: traits speaker/query/page, and {type: "play", segment}.

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.appendChild(child);
  return node;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  // rounded once, to the hundredths shown, before splitting: 119.996 s reads 2:00.00, not 1:60.00
  const hundredths = Math.round(seconds * 100);
  const h = Math.floor(hundredths / 360000);
  const m = Math.floor((hundredths % 360000) / 6000);
  const s = ((hundredths % 6000) / 100).toFixed(2);
  return h ? `${h}:${String(m).padStart(2, "0")}:${s.padStart(5, "0")}` : m ? `${m}:${s.padStart(5, "0")}` : s;
}

function pcmToAudioBuffer(context, view, sr, channels) {
  // copy: a DataView's offset need not be 2-byte aligned
  const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  const samples = new Int16Array(bytes);
  const frames = Math.floor(samples.length / channels);
  const buffer = context.createBuffer(channels, Math.max(frames, 1), sr);
  for (let c = 0; c < channels; c++) {
    const out = buffer.getChannelData(c);
    for (let i = 0; i < frames; i++) out[i] = samples[i * channels + c] / 32768;
  }
  return buffer;
}

function render({ model, el: root }) {
  root.classList.add("voxnb-segments");
  const speakerSelect = el("select", { "aria-label": "speaker" });
  const search = el("input", { type: "search", placeholder: "filter text…", "aria-label": "filter text" });
  const prev = el("button", { text: "‹", title: "previous page" });
  const next = el("button", { text: "›", title: "next page" });
  const info = el("span", { class: "voxnb-info" });
  const status = el("span", { class: "voxnb-status" });
  const tbody = el("tbody");
  const table = el("table", {}, [
    el("thead", {}, [el("tr", {}, ["", "#", "time", "speaker", "text"].map((h) => el("th", { text: h })))]),
    tbody,
  ]);
  root.append(el("div", { class: "voxnb-controls" }, [speakerSelect, search, prev, info, next, status]), table);

  let context = null;
  let playing = null; // {source, segment}

  function fillSpeakers() {
    speakerSelect.replaceChildren(el("option", { value: "", text: "all speakers" }));
    for (const name of model.get("speakers")) speakerSelect.appendChild(el("option", { value: name, text: name }));
    speakerSelect.value = model.get("speaker");
  }

  function drawRows() {
    const colors = model.get("colors");
    tbody.replaceChildren();
    for (const row of model.get("rows")) {
      const button = el("button", { class: "voxnb-play", title: "play this segment", text: "▶" });
      button.disabled = !row.playable;
      button.addEventListener("click", () => {
        if (playing && playing.segment === row.segment) return stop();
        status.textContent = "";
        model.send({ type: "play", segment: row.segment });
      });
      const chip = el("span", { class: "voxnb-speaker", text: row.speaker || "–" });
      chip.style.borderLeftColor = colors[row.speaker] || "#b0b0b0";
      const tr = el("tr", { "data-segment": String(row.segment) }, [
        el("td", {}, [button]),
        el("td", { text: String(row.segment) }),
        el("td", { class: "voxnb-time", text: `${clock(row.start)}–${clock(row.end)}` }),
        el("td", {}, [chip]),
        el("td", { class: "voxnb-text", text: row.text }),
      ]);
      if (playing && playing.segment === row.segment) tr.classList.add("voxnb-playing");
      tbody.appendChild(tr);
    }
    const pages = Math.max(1, Math.ceil(model.get("total") / model.get("page_size")));
    const page = model.get("page");
    info.textContent = `${model.get("total")} segments · page ${page + 1}/${pages}`;
    prev.disabled = page <= 0;
    next.disabled = page >= pages - 1;
  }

  function mark(segment, on) {
    const tr = tbody.querySelector(`tr[data-segment="${segment}"]`);
    if (tr) tr.classList.toggle("voxnb-playing", on);
  }

  function stop() {
    if (!playing) return;
    const { source, segment } = playing;
    playing = null;
    mark(segment, false);
    try { source.stop(); } catch (e) { /* already ended */ }
  }

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "error") {
      status.textContent = msg.message;
      return;
    }
    if (msg.type !== "audio" || !buffers || !buffers.length) return;
    stop();
    context = context || new AudioContext();
    const source = context.createBufferSource();
    source.buffer = pcmToAudioBuffer(context, buffers[0], msg.sr, msg.channels);
    source.connect(context.destination);
    playing = { source, segment: msg.segment };
    source.onended = () => {
      if (playing && playing.source === source) { playing = null; mark(msg.segment, false); }
    };
    mark(msg.segment, true);
    context.resume().then(() => source.start());
  });

  let typing = null;
  search.value = model.get("query");
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { model.set("query", search.value); model.save_changes(); }, 250);
  });
  speakerSelect.addEventListener("change", () => { model.set("speaker", speakerSelect.value); model.save_changes(); });
  prev.addEventListener("click", () => { model.set("page", model.get("page") - 1); model.save_changes(); });
  next.addEventListener("click", () => { model.set("page", model.get("page") + 1); model.save_changes(); });
  model.on("change:rows", drawRows);
  model.on("change:total", drawRows);
  model.on("change:speakers", fillSpeakers);
  model.on("change:speaker", () => { speakerSelect.value = model.get("speaker"); });
  model.on("change:query", () => {
    if (search.value !== model.get("query")) search.value = model.get("query");
  });
  fillSpeakers();
  drawRows();
  return () => stop();
}

export default { render };
