// focusbox page: no framework; live state over SSE, actions over the JSON API with the token.
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "focusbox-token";
const CLASSICAL = ["hpf", "tenengrad", "lapv", "sml", "ewc", "ws", "vollath", "normvar"];
let token = localStorage.getItem(TOKEN_KEY) ?? "";
let live = []; // trace points of the running autofocus
let plot = null;
let events = null; // the EventSource
/** State, result and operation events received so far: an /api/status or /api/log answer they overtook is older than what they showed. */
const heard = { state: 0, result: 0, operation: 0 };

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const withToken = (url) => (token ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : url);
const headers = () => (token ? { authorization: `Bearer ${token}` } : {});

/** A status line's writer: `text`, red when `bad`. */
const sayIn = (id) => (text, bad = false) => {
  $(id).textContent = text;
  $(id).className = bad ? "bad" : "";
};
const say = sayIn("message");

function askToken() {
  return new Promise((resolve) => {
    const dialog = $("token-dialog");
    $("token-input").value = token;
    dialog.onclose = () => {
      if (dialog.returnValue === "save" && $("token-input").value.trim()) {
        token = $("token-input").value.trim();
        localStorage.setItem(TOKEN_KEY, token);
        if (events?.readyState !== EventSource.OPEN) {
          connect(); // read routes may need the token too (server.publicStatus false)
          startPreview();
        }
        resolve(true);
      } else resolve(false);
    };
    dialog.showModal();
  });
}

/** fetch, with a failure to reach the station said in words (not "Failed to fetch"). */
const request = (path, init) =>
  fetch(path, init).catch(() => {
    throw new Error("the station does not answer: is it running, and is this device on its network?");
  });

async function getJson(path) {
  const res = await request(path, { headers: headers() });
  if (res.status === 401 && (await askToken())) return getJson(path);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** POST with the token; asks for it once on 401 and retries. */
async function post(path, body = {}) {
  if (!token && !(await askToken())) throw new Error("not sent: this needs the station's API token (Token button; `focusbox token` on the station prints it)");
  const res = await request(path, { method: "POST", headers: { "content-type": "application/json", ...headers() }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) {
    token = "";
    localStorage.removeItem(TOKEN_KEY);
    if (await askToken()) return post(path, body);
  }
  if (!res.ok) throw Object.assign(new Error(json.detail ?? json.error ?? `HTTP ${res.status}`), { kind: json.error });
  return json;
}

/** Runs one action; its outcome goes to `out` (default the controls' message line). A cancel is not a failure. */
function act(path, body, done, out = say) {
  out("");
  return post(path, typeof body === "function" ? body() : body).then(
    (r) => done && out(done(r)),
    (e) => e.kind !== "cancelled" && out(e.message, true),
  );
}

function showState(s) {
  $("state").textContent = $("state").title = s.operation ? `busy: ${s.operation}` : s.state;
  $("state").className = `pill ${s.state}`;
  if (Number.isFinite(s.positionUm)) $("position").textContent = fmt(s.positionUm);
  const busy = s.state === "busy";
  for (const b of document.querySelectorAll("#autofocus, #calibrate, #capture, #refocus, #zero, [data-jog]")) b.disabled = busy || s.state === "offline";
  $("cancel").disabled = s.state === "idle" || s.state === "offline";
  $("cancel").textContent = s.state === "error" ? "Clear error" : "Cancel"; // idle, cancel acknowledges the error
  $("progress").textContent = busy ? $("progress").textContent || `${s.operation} running…` : "";
}

// ---- result: uPlot score vs z (+ calibration curve, chosen z), tile map ----
function plotData(trace, curve) {
  const rows = new Map();
  for (const p of trace) rows.set(p.zUm, [p.score, null]);
  if (curve) curve.zUm.forEach((z, i) => rows.set(z, [rows.get(z)?.[0] ?? null, curve.b[i]]));
  const xs = [...rows.keys()].sort((a, b) => a - b);
  return [xs, xs.map((x) => rows.get(x)[0]), xs.map((x) => rows.get(x)[1])];
}

/** What a trace's scores are: DeepFocus reads blur in camera pixels (its points carry the Tenengrad cross-check), a classical metric sharpness. */
const scoreKind = (trace) =>
  trace.some((p) => p.sharpness !== undefined) ? { label: "blur (px)", text: (v) => `blur ${fmt(v)} px` } : { label: "score", text: (v) => `score ${fmt(v, 4)}` };

function drawPlot(trace, finalUm, curve) {
  const el = $("plot");
  const width = Math.max(240, el.clientWidth);
  const data = plotData(trace, curve);
  const kind = scoreKind(trace);
  const key = `${!!curve} ${kind.label}`;
  if (plot && plot.width === width && plot.key === key) {
    plot.finalUm = finalUm;
    plot.setData(data);
    return;
  }
  plot?.destroy();
  const marker = (u) => {
    if (!Number.isFinite(u.finalUm)) return;
    const x = Math.round(u.valToPos(u.finalUm, "x", true));
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = "#f7c948";
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    ctx.restore();
  };
  const axis = { stroke: "#9aa0a6", grid: { stroke: "#2c3137" }, ticks: { stroke: "#2c3137" } };
  const series = [
    { label: "z (µm)", value: (u, v) => fmt(v) },
    { label: kind.label, stroke: "#4fb3ff", width: 0, paths: () => null, points: { show: true, size: 8, fill: "#4fb3ff" }, value: (u, v) => fmt(v, 4) },
  ];
  if (curve) series.push({ label: "calibration", stroke: "#4cd47a", width: 1.5, spanGaps: true, points: { show: false } });
  plot = new uPlot(
    { width, height: Math.round(Math.min(260, width * 0.55)), series, axes: [{ ...axis, label: "z (µm)" }, { ...axis, size: 60, label: kind.label }], scales: { x: { time: false } }, cursor: { drag: { x: false, y: false } }, hooks: { draw: [marker] } },
    data,
    el,
  );
  plot.finalUm = finalUm;
  plot.key = key;
}

function drawTiles(result) {
  const tiles = $("tiles");
  tiles.textContent = "";
  const roi = result.roi ?? { cols: Math.round(Math.sqrt(result.trace[0]?.tiles.length ?? 0)) };
  const cols = roi.cols || 1;
  let values, title, diverging;
  if (Array.isArray(result.tileFocusUm)) {
    values = result.tileFocusUm.map((z) => (z === null ? null : z - result.finalUm));
    title = "Δz per tile (µm, tile focus − chosen z)";
    diverging = true;
  } else {
    const nearest = result.trace.reduce((a, p) => (Math.abs(p.zUm - result.finalUm) < Math.abs(a.zUm - result.finalUm) ? p : a), result.trace[0]);
    if (!nearest) return;
    values = nearest.tiles.map((v) => (Number.isFinite(v) ? v : null));
    title = `tile scores at z = ${fmt(nearest.zUm)} µm`;
  }
  const finite = values.filter((v) => v !== null);
  const lo = Math.min(...finite), hi = Math.max(...finite), span = Math.max(...finite.map(Math.abs), result.uncertaintyUm ?? 0, 1e-9); // Δz within the uncertainty stays pale
  tiles.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
  for (const v of values) {
    const cell = document.createElement("div");
    if (v === null) {
      cell.style.background = "#333";
      cell.textContent = "–";
    } else if (diverging) {
      const t = v / span;
      cell.style.background = t >= 0 ? `rgb(${255 - 120 * t},${255 - 120 * t},255)` : `rgb(255,${255 + 120 * t},${255 + 120 * t})`;
      cell.textContent = fmt(Math.round(v * 10) / 10 || 0, 1); // no "-0.0"
    } else {
      const t = hi > lo ? (v - lo) / (hi - lo) : 1;
      cell.style.background = `hsl(${200 - 160 * t}, 70%, ${35 + 30 * t}%)`;
      cell.textContent = v >= 100 ? v.toPrecision(3) : fmt(v, 3);
    }
    tiles.append(cell);
  }
  $("tiles-title").textContent = title;
  $("tiles-title").hidden = false;
}

function showResult(r) {
  const fallback = r.fallback ? ` · found by the ${r.fallback.metric} fallback${r.fallback.confirmed ? "" : ", not confirmed by DeepFocus"}` : "";
  $("summary").textContent = `${r.method}: ${fmt(r.startUm)} → ${fmt(r.finalUm)}${Number.isFinite(r.uncertaintyUm) ? ` ± ${fmt(r.uncertaintyUm)}` : ""} µm · ${r.images} images · ${fmt(r.durationMs / 1000)} s${fallback}`;
  $("summary").title = r.fallback ? `DeepFocus alone refused: ${r.fallback.reason}` : "";
  $("summary").className = "";
  drawPlot(r.trace, r.finalUm, r.calibrationCurve);
  drawTiles(r);
}

/** A new run replaces the last result's summary and tile map; its plot fills from the image events. */
function startRun() {
  live = [];
  $("summary").textContent = "running…";
  $("summary").className = "muted";
  $("tiles").textContent = "";
  $("tiles-title").hidden = true;
}

function showRunEnd(outcome) {
  $("summary").textContent = `${outcome} after ${live.length} images: the plot shows them (no result)`;
  $("summary").className = outcome === "failed" ? "bad" : "muted";
}

// ---- log and captures ----
function addLog(e) {
  const li = document.createElement("li");
  li.className = e.outcome;
  li.textContent = `${new Date(e.startedAt).toLocaleTimeString()} ${e.operation} ${e.outcome === "done" ? "" : `(${e.outcome}) `}${e.detail}`;
  $("log").prepend(li);
  while ($("log").children.length > 30) $("log").lastChild.remove();
}

let capturesAsked = 0;
/** The newest captures; an answer that arrives after a later request's is dropped (it may lack a capture). */
async function loadCaptures() {
  const asked = ++capturesAsked;
  const { captures } = await getJson("/api/captures");
  if (asked !== capturesAsked) return;
  $("captures").replaceChildren(
    ...captures.slice(0, 20).map((c) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = withToken(`/api/captures/${c.id}`);
      a.download = `${c.id}.png`;
      a.textContent = `${new Date(c.capturedAt).toLocaleString()} · z ${fmt(c.zUm)} µm · ${c.pngBits}-bit${c.refocus ? ` · refocused (${c.refocus.method})` : ""}`;
      li.append(a);
      return li;
    }),
  );
}

// ---- live: SSE, preview ----
function connect() {
  events?.close();
  const es = (events = new EventSource(withToken("/api/events")));
  const on = (name, fn) => es.addEventListener(name, (m) => fn(JSON.parse(m.data)));
  on("state", (s) => {
    heard.state++;
    showState(s);
    if (s.state === "busy" && s.operation === "autofocus") startRun();
  });
  on("image", ({ point }) => {
    live.push(point);
    $("position").textContent = fmt(point.zUm);
    $("progress").textContent = `image ${live.length} · z ${fmt(point.zUm)} µm · ${scoreKind([point]).text(point.score)}`;
    drawPlot(live, NaN);
  });
  on("progress", (p) => {
    $("position").textContent = fmt(p.zUm);
    $("progress").textContent = `${p.operation}: plane ${p.done}/${p.total} · z ${fmt(p.zUm)} µm`;
  });
  on("result", ({ result }) => {
    heard.result++;
    showResult(result);
  });
  on("failed", (f) => say(`${f.operation} failed: ${f.error}`, true));
  on("calibrated", ({ calibration: c }) => {
    loadMethods().catch(() => undefined); // the new profile
    const profile = c.kind === "profile" ? `, FWHM ${c.fwhmUm.toFixed(1)} µm, binning ${c.binning}, rising to ±${c.captureRangeUm?.toFixed(1) ?? "?"} µm` : "";
    say(`calibration ${c.kind} "${c.name}": ${c.planes} planes${profile} → ${c.path}${c.warning ? ` — warning: ${c.warning}` : ""}`, Boolean(c.warning));
  });
  on("captured", () => loadCaptures().catch(() => undefined));
  on("operation", (e) => {
    heard.operation++;
    addLog(e);
    if (e.operation === "autofocus" && e.outcome !== "done") showRunEnd(e.outcome);
  });
  es.onopen = () => refresh();
  es.onerror = () => showState({ state: "offline", operation: null }); // EventSource reconnects; onopen refreshes
}

function startPreview() {
  const img = $("preview");
  let polling = false;
  const poll = () => {
    const next = new Image();
    next.onload = () => {
      img.src = next.src;
      setTimeout(poll, 500);
    };
    next.onerror = () => setTimeout(poll, 2000);
    next.src = withToken(`/api/preview.jpg?t=${Date.now()}`);
  };
  img.onerror = () => {
    if (polling) return;
    polling = true;
    poll();
  };
  img.src = withToken("/api/preview.mjpg");
}

/** Status and log after (re)connecting; an event that arrived while the status was on its way wins over it. */
async function refresh() {
  const before = { ...heard };
  const s = await getJson("/api/status");
  if (heard.state === before.state) showState(s);
  if (s.lastResult && heard.result === before.result) showResult(s.lastResult);
  await showLog();
}

/** The recent-operations list from /api/log, asked again when an operation ended while the answer was on its way (it may lack that one). */
async function showLog() {
  const before = heard.operation;
  const { operations } = await getJson("/api/log");
  if (heard.operation !== before) return showLog();
  $("log").textContent = "";
  operations.forEach(addLog);
}

/** Fills the method and profile lists, keeping what the user picked; DeepFocus without a profile gets a hint. */
async function loadMethods() {
  const { methods, profiles, defaults } = await getJson("/api/methods");
  const method = $("method").value || defaults.metric;
  const profile = $("profile").value;
  if (!$("method").options.length) $("strategy").value = defaults.strategy;
  $("method").replaceChildren(...methods.map((m) => new Option(m, m, false, m === method)));
  $("profile").replaceChildren(new Option("default", ""), ...profiles.map((p) => new Option(p, p, false, p === profile)));
  const sync = () => {
    const classical = CLASSICAL.includes($("method").value);
    $("profile-label").hidden = classical || profiles.length === 0;
    $("strategy").parentElement.hidden = !classical;
    $("calibrate-hint").hidden = classical || profiles.length > 0;
  };
  $("method").onchange = sync;
  sync();
}

function afRequest() {
  const m = $("method").value;
  if (CLASSICAL.includes(m)) return { metric: m, strategy: $("strategy").value };
  return $("profile").value ? { method: m, profile: $("profile").value } : { method: m };
}

$("autofocus").onclick = async () => {
  if (!$("calibrate-hint").hidden) await loadMethods().catch(() => undefined); // a profile made elsewhere
  if (!$("calibrate-hint").hidden) return say($("calibrate-hint").textContent, true);
  return act("/api/autofocus", afRequest, (r) => `focused at ${fmt(r.finalUm)} µm with ${r.images} images`);
};
$("cancel").onclick = () => {
  const clearing = $("cancel").textContent === "Clear error";
  return act("/api/cancel", {}, (r) => (r.cancelled ? `cancelled ${r.operation}` : clearing ? "error cleared" : "nothing to cancel"));
};
$("calibrate").onclick = () => act("/api/calibrate", {}, null);
$("capture").onclick = () => act("/api/capture", {}, (c) => `captured ${c.file}`);
$("refocus").onclick = () =>
  act("/api/refocus", {}, (r) => {
    $("refocus-img").src = withToken(`/api/captures/${r.capture.id}`);
    $("refocus-caption").textContent = `${r.refocus.method}: ${r.source} → ${r.capture.id}, ${r.refocus.tiles} tiles, ${(r.refocus.durationMs / 1000).toFixed(2)} s`;
    $("refocus-result").hidden = false;
    return `refocused ${r.source}`;
  });
$("zero").onclick = () => act("/api/stage/zero", {}, () => "position set to 0 µm");
$("key").onclick = () => askToken();
for (const b of document.querySelectorAll("[data-jog]")) b.onclick = () => act("/api/stage/move", { zUm: Number(b.dataset.jog), relative: true }, null);

connect();
startPreview();
loadMethods().catch((e) => say(e.message, true));
loadCaptures().catch(() => undefined);

// ---- timelapse panel: polls /api/timelapse; focus position over time (uPlot), latest image ----
let tlPlot = null;
let tlLatest = "";
function drawTimelapse(focus) {
  const data = [focus.map((f) => f.atMs / 1000), focus.map((f) => f.focusUm)];
  const width = Math.max(240, $("tl-plot").clientWidth);
  if (tlPlot) return tlPlot.setData(data);
  tlPlot = new uPlot({ width, height: 200, scales: { x: { time: true } }, series: [{}, { label: "focus µm", stroke: "#4fb3ff", points: { show: focus.length < 100 } }], axes: [{ stroke: "#9aa0a6" }, { stroke: "#9aa0a6" }] }, data, $("tl-plot"));
}
function showTimelapse(s) {
  const running = s.state === "running" || s.state === "paused";
  $("tl-start").disabled = running;
  $("tl-stop").disabled = !running;
  if (!s.job) return ($("tl-summary").textContent = "no timelapse");
  const next = s.nextDueAt ? ` · next ${new Date(s.nextDueAt).toLocaleTimeString()}` : "";
  const ipp = s.imagesPerPoint ? ` · ${fmt(s.imagesPerPoint)} AF images/point` : ""; // none for policies that take no autofocus image
  const { intervalMs, autofocus } = s.job.request;
  const every = intervalMs < 60_000 ? `${+(intervalMs / 1000).toFixed(2)} s` : intervalMs < 3_600_000 ? `${+(intervalMs / 60_000).toFixed(2)} min` : `${+(intervalMs / 3_600_000).toFixed(2)} h`;
  $("tl-summary").textContent = `${s.state}: ${s.done} captured, ${s.missed} missed of ${s.job.total} · every ${every}, autofocus ${autofocus.policy}${next}${ipp}${s.error ? ` — ${s.error}` : ""}`;
  $("tl-summary").className = s.state === "paused" ? "bad" : "muted";
  drawTimelapse(s.focus);
  const file = s.latest?.files[Math.floor(s.latest.files.length / 2)];
  if (file && file !== tlLatest) {
    tlLatest = file;
    $("tl-latest").src = withToken(`/api/timelapse/files/${file}`);
    $("tl-latest").hidden = false;
  }
}
async function pollTimelapse() {
  try {
    showTimelapse(await getJson("/api/timelapse"));
  } catch {
    // offline: the station status pill says so
  }
  setTimeout(pollTimelapse, 2000);
}
const tlSay = sayIn("tl-message");
$("tl-start").onclick = () =>
  [...document.querySelectorAll(".timelapse input")].every((i) => i.reportValidity()) &&
  act(
    "/api/timelapse",
    () => ({
      intervalMs: Math.round(Number($("tl-interval").value) * 1000),
      count: Number($("tl-count").value),
      autofocus: { policy: $("tl-policy").value },
      capture: { zOffsetsUm: $("tl-planes").value.split(",").map(Number) },
    }),
    (s) => (showTimelapse(s), `timelapse ${s.id} started`),
    tlSay,
  );
$("tl-stop").onclick = () => act("/api/timelapse/stop", {}, (s) => (showTimelapse(s), "timelapse stopped"), tlSay);
pollTimelapse();

/** Plots follow their card's width (a phone turned upright, a resized window). */
const fit = (u, el) => u && u.width !== Math.max(240, el.clientWidth) && u.setSize({ width: Math.max(240, el.clientWidth), height: u.height });
addEventListener("resize", () => (fit(plot, $("plot")), fit(tlPlot, $("tl-plot"))));
