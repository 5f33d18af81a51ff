// cco dashboard. Plain script, no libraries: the page's Content-Security-
// Policy allows only files served by cco itself and no inline code, so
// everything here builds DOM nodes and sets classes, attributes and CSSOM
// properties; it never writes style attributes or HTML strings.
//
// Data: /api/stats (per range), /api/stats/{daily,weekly,monthly,session,
// blocks} (the usage reports), /api/requests (paged), /api/instance, and
// /api/events (EventSource) for live rows. Number formats follow the
// dashboard contract exactly; the browser test recomputes them.
"use strict";
// One classic script: its top-level names live in the script scope.
const $ = (id) => document.getElementById(id);
const RANGES = ["today", "7d", "30d", "all"];
const KINDS = ["input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens"];
const KIND_CLASS = ["k-in", "k-out", "k-w5", "k-w1", "k-rd"];
const PAGE = 50;
const MAX_ROWS = 1000; // rows the recent table keeps
const SVGNS = "http://www.w3.org/2000/svg";

// ---- formats (the contract's, exactly) ----
const usd = (x) => {
  x = +x || 0;
  if (x === 0) return "$0.00";
  if (Math.abs(x) < 0.01) return "<$0.01";
  return "$" + x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
};
const tokens = (n) => {
  n = +n || 0;
  if (n < 1000) return String(n);
  if (n < 1e6) return (n / 1e3).toFixed(1) + "k";
  if (n < 1e9) return (n / 1e6).toFixed(1) + "M";
  return (n / 1e9).toFixed(1) + "B";
};
const count = (n) => (+n || 0).toLocaleString("en-US");
const pct = (r) => ((+r || 0) * 100).toFixed(1) + "%";
const ms = (x) => {
  x = +x || 0;
  return x < 1000 ? Math.round(x) + " ms" : (x / 1000).toFixed(2) + " s";
};
const bytes = (n) => {
  n = +n || 0;
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return (Number.isInteger(n) || n >= 100 ? Math.round(n) : n.toFixed(1)) + " " + units[i];
};
const sumTokens = (t) => KINDS.reduce((a, k) => a + (+t[k] || 0), 0);
const pad2 = (n) => String(n).padStart(2, "0");
const duration = (s) => {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d ? "" : m + "m ") + (d || h ? "" : (s % 60) + "s");
};
const ttl = (t) => (t || "").replace(/(\D)0m0s$/, "$1").replace(/(\D)0s$/, "$1") || "–";
const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
const when = (iso) => {
  const d = new Date(iso);
  if (isNaN(d)) return "–";
  if (sameDay(d, new Date())) return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
};
const whenFull = (iso) => {
  const d = new Date(iso);
  return isNaN(d) ? String(iso || "") : d.toLocaleString([], { dateStyle: "full", timeStyle: "medium" });
};
// Calendar days are handled as UTC dates so that DST never skips one.
const dayMS = (s) => Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10));
const dayKey = (t) => new Date(t).toISOString().slice(0, 10);
const dayLabel = (t, opts) => new Date(t).toLocaleDateString([], Object.assign({ timeZone: "UTC" }, opts));
const localDay = (d) => d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate());

// ---- DOM helpers ----
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const svg = (tag, attrs) => {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
};
const cell = (tr, text, cls, title) => {
  const td = el("td", cls, text);
  if (title) td.title = title;
  tr.appendChild(td);
  return td;
};
// cacheCell shows cache-read / cache-write tokens, the exact kinds in its title.
const cacheCell = (tr, t) => {
  const w = (+t.cache_write_5m_tokens || 0) + (+t.cache_write_1h_tokens || 0);
  return cell(tr, tokens(t.cache_read_tokens) + " / " + tokens(w), "n muted",
    "cache read " + count(t.cache_read_tokens) + " · write 5m " + count(t.cache_write_5m_tokens) + " · write 1h " + count(t.cache_write_1h_tokens) + " tokens");
};
const setFig = (e, text, raw) => {
  if (!e) return;
  e.textContent = text;
  e.dataset.raw = String(raw);
};
const setText = (id, text) => { const e = $(id); if (e) e.textContent = text; };
const bar = (share, cls) => {
  const b = el("span", "pbar");
  const f = el("span", "fill" + (cls ? " " + cls : ""));
  f.style.width = Math.max(0, Math.min(100, share * 100)).toFixed(2) + "%";
  b.appendChild(f);
  return b;
};

// ---- messages ----
const errors = new Map();
const setError = (key, text) => {
  if (text) errors.set(key, text); else errors.delete(key);
  const box = $("msg");
  box.replaceChildren();
  for (const t of errors.values()) box.appendChild(el("p", "", t));
  box.hidden = errors.size === 0;
};
window.addEventListener("error", (e) => { e.preventDefault(); setError("page", "The page hit a problem: " + (e.message || "unknown error") + ". Reload to try again."); });
window.addEventListener("unhandledrejection", (e) => { e.preventDefault(); setError("page", "The page hit a problem: " + ((e.reason && e.reason.message) || "unknown error") + "."); });

// ---- fetching ----
async function api(path, opts) {
  const o = Object.assign({ cache: "no-store", credentials: "same-origin" }, opts || {});
  o.headers = Object.assign({ Accept: "application/json" }, (opts && opts.headers) || {});
  const name = path.split("?")[0];
  let r;
  try {
    r = await fetch(path, o);
  } catch (e) {
    throw new Error("cco is not answering at " + location.origin + " (is it running?)");
  }
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const m = body && body.error && body.error.message;
    throw new Error(name + " answered " + r.status + (m ? ": " + m : ""));
  }
  if (body === null || typeof body !== "object") throw new Error(name + " sent an answer the page cannot read");
  return body;
}

// ---- state ----
const st = {
  range: "today",
  report: "daily",
  metric: "cost",
  stats: {},
  seq: {},
  inst: null,
  instAt: 0,
  cache: null,
  nextBefore: 0,
  seen: new Set(),
  recentReady: false,
  pending: [],
  es: null,
  down: false,
  dropped: 0,
  timer: 0,
  chart: null,
  hover: -1,
};

// ---- stats ----
async function loadStats(range) {
  const seq = (st.seq[range] = (st.seq[range] || 0) + 1);
  const s = await api("/api/stats?range=" + encodeURIComponent(range));
  if (seq !== st.seq[range]) return; // a newer answer is on its way
  s.totals = s.totals || {};
  st.stats[range] = s;
  if (range === "today" || range === "7d" || range === "30d") renderSpend(range, s);
  if (s.response_cache) renderCache(s.response_cache);
  if (range === st.range) renderRange(s, range);
}

async function refreshAll() {
  const ranges = ["today", "7d", "30d"];
  if (!ranges.includes(st.range)) ranges.unshift(st.range);
  else ranges.splice(ranges.indexOf(st.range), 1), ranges.unshift(st.range);
  const jobs = ranges.map((r) => loadStats(r));
  jobs.push(loadInstance(), loadReport());
  const res = await Promise.allSettled(jobs);
  const bad = res.find((x) => x.status === "rejected");
  setError("load", bad ? "Could not load the figures: " + bad.reason.message : null);
}

function renderSpend(range, s) {
  const t = s.totals;
  setFig(document.querySelector('[data-spend="' + range + '"]'), usd(t.cost_usd), t.cost_usd ?? 0);
  setText("spend-" + range + "-sub", count(t.requests) + " requests · " + tokens(sumTokens(t)) + " tokens");
}

const KPI_FORMAT = {
  cost_usd: usd, requests: count, errors: count, input_tokens: tokens, output_tokens: tokens,
  cache_write_5m_tokens: tokens, cache_write_1h_tokens: tokens, cache_read_tokens: tokens,
  cache_hit_rate: pct, cache_savings_usd: usd, prompt_cache_savings_usd: usd,
};

// renderRange shows a range's figures. A provisional render (a remembered
// answer, shown at once while a fresh one is fetched) leaves
// body[data-range] alone: that marks fresh figures only.
function renderRange(s, range, provisional) {
  const t = s.totals;
  for (const name in KPI_FORMAT) {
    const v = name === "cache_hit_rate" ? s.cache_hit_rate ?? 0 : t[name] ?? 0;
    setFig(document.querySelector('[data-kpi="' + name + '"]'), KPI_FORMAT[name](v), v);
  }
  const req = +t.requests || 0;
  const unknown = +t.unknown_cost_requests || 0;
  setText("kpi-cost-sub", unknown ? count(unknown) + " with no known price (not counted)" : req ? usd(t.cost_usd / req) + " per request" : "no requests");
  setText("kpi-req-sub", tokens(sumTokens(t)) + " tokens");
  setText("kpi-err-sub", req ? pct(t.errors / req) + " of requests" : "–");
  $("kpi-err-sub").parentElement.classList.toggle("bad", (+t.errors || 0) > 0);
  setText("kpi-hit-sub", count(t.cache_hits) + " answered by cco");
  setText("range-label", rangeLabel(s, range));

  renderTokens(t);
  if (st.drawn !== range) st.hover = -1;
  st.drawn = range;
  st.chart = buildBuckets(s, range);
  drawChart();
  renderModels(s.by_model || []);
  renderSessions(s.by_session || []);
  const dr = +s.dropped_records || 0;
  const n = $("notice");
  n.hidden = dr === 0;
  n.textContent = dr ? count(dr) + " requests since cco started could not be recorded (the analytics queue was full); the figures miss them." : "";
  if (!provisional) document.body.dataset.range = range; // last: the figures are on screen
}

function rangeLabel(s, range) {
  const fmt = { month: "short", day: "numeric" };
  if (range === "today") return "· today";
  if (range === "all") {
    const first = (s.by_day || []).map((d) => d.day).sort()[0];
    return first ? "· since " + dayLabel(dayMS(first), Object.assign({ year: "numeric" }, fmt)) : "· all time";
  }
  const b = dayBounds(s, range);
  return "· " + dayLabel(b[0], fmt) + " – " + dayLabel(b[1], fmt);
}

function renderTokens(t) {
  const total = sumTokens(t);
  setText("tok-total", tokens(total) + " in all");
  const stack = $("tok-stack");
  stack.replaceChildren();
  KINDS.forEach((k, i) => {
    const share = total ? (+t[k] || 0) / total : 0;
    setText("share-" + k, total ? pct(share) : "");
    if (share > 0) {
      const seg = el("span", KIND_CLASS[i]);
      seg.style.width = (share * 100).toFixed(3) + "%";
      stack.appendChild(seg);
    }
  });
}

function renderModels(rows) {
  const body = document.querySelector("#by-model tbody");
  const list = rows.slice().sort((a, b) => (b.cost_usd - a.cost_usd) || (b.requests - a.requests));
  const totalCost = list.reduce((a, m) => a + (+m.cost_usd || 0), 0);
  const totalReq = list.reduce((a, m) => a + (+m.requests || 0), 0);
  body.replaceChildren();
  for (const m of list) {
    const tr = el("tr");
    tr.dataset.model = m.model;
    const th = el("th", "model", m.model);
    th.scope = "row";
    tr.appendChild(th);
    cell(tr, count(m.requests), "n");
    cell(tr, tokens(m.input_tokens), "n", count(m.input_tokens) + " input tokens");
    cell(tr, tokens(m.output_tokens), "n", count(m.output_tokens) + " output tokens");
    cacheCell(tr, m);
    const unknown = +m.unknown_cost_requests || 0;
    cell(tr, usd(m.cost_usd), "n" + (unknown ? " unknown" : ""), unknown ? count(unknown) + " requests with no known price" : "");
    const share = totalCost > 0 ? (+m.cost_usd || 0) / totalCost : totalReq > 0 ? (+m.requests || 0) / totalReq : 0;
    const box = el("span", "sharebox");
    box.append(bar(share), el("span", "pct", pct(share)));
    cell(tr, "", "").appendChild(box);
    body.appendChild(tr);
  }
  $("by-model-empty").hidden = list.length > 0;
}

function renderSessions(rows) {
  const body = document.querySelector("#by-session tbody");
  body.replaceChildren();
  for (const s of rows) {
    const tr = el("tr");
    tr.dataset.session = s.session_id;
    const th = el("th");
    th.scope = "row";
    const code = el("code", "sid", s.session_id.length > 10 ? s.session_id.slice(0, 8) + "…" : s.session_id);
    code.title = s.session_id;
    th.appendChild(code);
    tr.appendChild(th);
    cell(tr, count(s.requests), "n");
    cell(tr, tokens(sumTokens(s)), "n", KINDS.map((k) => k.replace(/_tokens$/, "").replace(/_/g, " ") + ": " + count(s[k])).join("\n"));
    cell(tr, usd(s.cost_usd), "n");
    cell(tr, when(s.first), "t", whenFull(s.first));
    cell(tr, when(s.last), "t", whenFull(s.last));
    body.appendChild(tr);
  }
  $("by-session-empty").hidden = rows.length > 0;
}

// ---- usage reports: /api/stats/{daily,weekly,monthly,session,blocks} ----
const REPORTS = { daily: "Day", weekly: "Week of", monthly: "Month", session: "Session", blocks: "Block start" };
const minutes = (m) => duration((+m || 0) * 60).replace(/ 0s$/, "").trim();

async function loadReport() {
  const name = st.report;
  const seq = (st.reportSeq = (st.reportSeq || 0) + 1);
  const r = await api("/api/stats/" + name);
  if (seq !== st.reportSeq) return; // another report was picked meanwhile
  renderReport(name, r);
}

function renderReport(name, r) {
  const rows = (name === "blocks" ? r.blocks : r.rows) || [];
  setText("rep-key", REPORTS[name]);
  setText("rep-caption", "Usage per " + (name === "session" ? "Claude Code session" : name === "blocks" ? "5-hour block" : REPORTS[name].toLowerCase()) + ", newest first");
  const body = document.querySelector("#report tbody");
  const foot = document.querySelector("#report tfoot");
  body.replaceChildren();
  foot.replaceChildren();
  const total = {};
  let active = null;
  for (const row of rows.slice().reverse()) {
    const tr = el("tr");
    const th = el("th");
    th.scope = "row";
    tr.dataset.key = name === "blocks" ? row.start : row.key;
    if (name === "session") {
      const code = el("code", "sid", row.key.length > 10 ? row.key.slice(0, 8) + "…" : row.key);
      code.title = row.key + "\nfirst " + whenFull(row.first) + "\nlast " + whenFull(row.last);
      th.appendChild(code);
      th.appendChild(el("span", "muted", " " + when(row.last)));
    } else if (name === "blocks") {
      th.textContent = when(row.start);
      th.title = whenFull(row.start) + " to " + whenFull(row.end);
      if (row.active) {
        active = row;
        tr.classList.add("active");
        th.appendChild(el("span", "pill ok", " active"));
      }
    } else {
      th.textContent = row.key;
    }
    tr.appendChild(th);
    reportCells(tr, row, row.models || []);
    body.appendChild(tr);
    for (const k of ["requests", "cost_usd", "cache_savings_usd", "prompt_cache_savings_usd", "unknown_cost_requests"].concat(KINDS)) total[k] = (total[k] || 0) + (+row[k] || 0);
  }
  if (rows.length > 1) {
    const tr = el("tr", "total");
    const th = el("th", "", "Total");
    th.scope = "row";
    tr.appendChild(th);
    reportCells(tr, total, []);
    foot.appendChild(tr);
  }
  $("report-empty").hidden = rows.length > 0;
  const p = $("rep-active");
  p.hidden = !active;
  if (active) {
    p.textContent = "Active block: " + minutes(active.elapsed_minutes) + " in, " + minutes(active.remaining_minutes) + " left · " +
      tokens(Math.round(active.burn_tokens_per_minute || 0)) + " tokens and " + usd((active.burn_usd_per_minute || 0) * 60) +
      " an hour · projected " + usd(active.projected_cost_usd) + " by its end";
  }
}

function reportCells(tr, t, models) {
  cell(tr, count(t.requests), "n");
  cell(tr, tokens(t.input_tokens), "n", count(t.input_tokens) + " input tokens");
  cell(tr, tokens(t.output_tokens), "n", count(t.output_tokens) + " output tokens");
  cacheCell(tr, t);
  const unknown = +t.unknown_cost_requests || 0;
  cell(tr, usd(t.cost_usd), "n" + (unknown ? " unknown" : ""), unknown ? count(unknown) + " requests with no known price" : "");
  cell(tr, usd((+t.cache_savings_usd || 0) + (+t.prompt_cache_savings_usd || 0)), "n muted",
    "response cache " + usd(t.cache_savings_usd) + " · prompt caching " + usd(t.prompt_cache_savings_usd));
  cell(tr, models.map((m) => m.replace(/^claude-/, "").replace(/-\d{8}$/, "")).join(", "), "models muted", models.join("\n"));
}

function pickReport(name) {
  if (!(name in REPORTS)) name = "daily";
  st.report = name;
  for (const b of document.querySelectorAll("button[data-report]")) b.setAttribute("aria-pressed", String(b.dataset.report === name));
  loadReport().then(() => setError("report", null), (e) => setError("report", "Could not load the report: " + e.message));
}
for (const b of document.querySelectorAll("button[data-report]")) b.addEventListener("click", () => pickReport(b.dataset.report));

// ---- chart ----
// dayBounds gives the first and last calendar day (UTC ms) of a 7d or 30d range.
function dayBounds(s, range) {
  const n = range === "7d" ? 7 : 30;
  let end = s.to ? dayMS(s.to) : dayMS(localDay(new Date()));
  let start = s.from ? dayMS(s.from) : end - (n - 1) * 864e5;
  if (!(start <= end) || end - start > 400 * 864e5) start = end - (n - 1) * 864e5;
  return [start, end];
}

function buildBuckets(s, range) {
  const out = [];
  if (range === "today") {
    const hours = new Map();
    for (const h of s.by_hour || []) {
    // The hour in the instance's zone; a day that turns the clocks back has one twice.
    const i = parseInt(String(h.hour).slice(11, 13), 10);
    hours.set(i, hours.has(i) ? addTotals(hours.get(i), h) : h);
  }
    const nowHour = s.to ? parseInt(s.to.slice(11, 13), 10) : new Date().getHours();
    for (let i = 0; i < 24; i++) {
      out.push({ t: hours.get(i) || null, label: pad2(i), title: pad2(i) + ":00 – " + pad2((i + 1) % 24) + ":00", future: i > nowHour });
    }
    return { unit: "hour", buckets: out };
  }
  const days = new Map();
  for (const d of s.by_day || []) days.set(d.day, d);
  let start, end;
  if (range === "all") {
    const keys = [...days.keys()].sort();
    if (!keys.length) return { unit: "day", buckets: [] };
    start = dayMS(keys[0]);
    end = Math.max(dayMS(keys[keys.length - 1]), s.to ? dayMS(s.to) : 0);
  } else {
    [start, end] = dayBounds(s, range);
  }
  const span = Math.round((end - start) / 864e5) + 1;
  if (span > 120) {
    // Long histories are drawn by month.
    const months = new Map();
    for (let t = start; t <= end; t += 864e5) {
      const key = dayKey(t).slice(0, 7);
      if (!months.has(key)) months.set(key, { t: null, label: dayLabel(t, { month: "short" }), title: dayLabel(t, { month: "long", year: "numeric" }) });
      const d = days.get(dayKey(t));
      if (d) months.get(key).t = addTotals(months.get(key).t, d);
    }
    return { unit: "month", buckets: [...months.values()] };
  }
  for (let t = start; t <= end; t += 864e5) {
    out.push({
      t: days.get(dayKey(t)) || null,
      label: span <= 7 ? dayLabel(t, { weekday: "short" }) + " " + new Date(t).getUTCDate() : dayLabel(t, { month: "short", day: "numeric" }),
      title: dayLabel(t, { weekday: "short", month: "short", day: "numeric", year: "numeric" }),
    });
  }
  return { unit: "day", buckets: out };
}

function addTotals(a, b) {
  const r = Object.assign({}, a || {});
  for (const k of ["requests", "errors", "cache_hits", "cost_usd"].concat(KINDS)) r[k] = (+r[k] || 0) + (+b[k] || 0);
  return r;
}

const METRICS = {
  cost: { title: "Cost", get: (t) => +t.cost_usd || 0, fmt: usd, axis: (v, step) => step < 0.01 ? "$" + v.toFixed(3) : step < 1 ? "$" + v.toFixed(2) : "$" + v.toLocaleString("en-US"), int: false },
  requests: { title: "Requests", get: (t) => +t.requests || 0, fmt: count, axis: (v) => v >= 1e4 ? tokens(v) : count(v), int: true },
  tokens: { title: "Tokens", get: sumTokens, fmt: tokens, axis: (v) => tokens(v), int: true },
};

function niceStep(max, n, int) {
  const raw = max / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  let step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
  if (int) step = Math.max(1, Math.round(step));
  return step;
}

function drawChart() {
  const box = $("chart");
  const old = box.querySelector("svg");
  // A redraw (live figures, resize) keeps the bar the reader is on.
  const keep = st.hover, refocus = !!old && document.activeElement === old;
  if (old) old.remove();
  const c = st.chart;
  if (!c) return;
  const m = METRICS[st.metric];
  setText("chart-title", m.title + (c.unit === "hour" ? " by hour" : c.unit === "month" ? " by month" : " by day"));
  const W = box.clientWidth, H = box.clientHeight;
  if (W < 50 || H < 50) return;
  const vals = c.buckets.map((b) => (b.t ? m.get(b.t) : 0));
  const max = Math.max(0, ...vals);
  $("chart-empty").hidden = max > 0;
  const step = max > 0 ? niceStep(max, H < 220 ? 3 : 4, m.int) : m.int ? 1 : 0.25;
  const top = max > 0 ? Math.ceil(max / step - 1e-9) * step : step * 4;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  const labels = ticks.map((v) => m.axis(v, step));
  const P = { l: Math.max(...labels.map((s) => s.length)) * 7 + 14, r: 6, t: 10, b: 24 };
  const iw = W - P.l - P.r, ih = H - P.t - P.b;
  const n = Math.max(1, c.buckets.length);
  const band = iw / n;
  const y = (v) => P.t + ih - (v / top) * ih;
  const g = svg("svg", {
    width: W, height: H, viewBox: "0 0 " + W + " " + H, class: "chart-svg", tabindex: "0", role: "img",
    "aria-label": m.title + " " + (c.unit === "hour" ? "by hour today" : "by " + c.unit) + ": total " + m.fmt(vals.reduce((a, v) => a + v, 0)) +
      ", highest " + m.fmt(max) + ". Use the arrow keys for each " + c.unit + ".",
  });
  ticks.forEach((v, i) => {
    const yy = Math.round(y(v)) + 0.5;
    g.appendChild(svg("line", { x1: P.l, x2: W - P.r, y1: yy, y2: yy, class: i ? "grid" : "axis-line" }));
    const tx = svg("text", { x: P.l - 8, y: yy + 4, "text-anchor": "end", class: "tick" });
    tx.textContent = labels[i];
    g.appendChild(tx);
  });
  const bw = Math.max(1, Math.min(48, band * (band > 8 ? 0.72 : 0.9)));
  const rects = [];
  c.buckets.forEach((b, i) => {
    const v = vals[i];
    let h = top ? (v / top) * ih : 0;
    if (v > 0 && h < 2) h = 2;
    const x = (P.l + i * band + (band - bw) / 2).toFixed(2);
    let r;
    if (st.metric === "tokens" && v > 0) {
      // Tokens stack by kind, in the colours of the Tokens card.
      r = svg("g", { class: "bar stacked" });
      let acc = 0;
      KINDS.forEach((k, j) => {
        const part = +b.t[k] || 0;
        if (!part) return;
        const y0 = P.t + ih - (acc / v) * h;
        acc += part;
        const y1 = P.t + ih - (acc / v) * h;
        r.appendChild(svg("rect", { x, y: y1.toFixed(2), width: bw.toFixed(2), height: Math.max(0.5, y0 - y1).toFixed(2), class: KIND_CLASS[j] }));
      });
    } else {
      r = svg("rect", { x, y: (P.t + ih - h).toFixed(2), width: bw.toFixed(2), height: h.toFixed(2), rx: Math.min(3, bw / 4).toFixed(1), class: "bar" + (b.future ? " future" : "") });
    }
    rects.push(r);
    g.appendChild(r);
  });
  // x labels, thinned so they never overlap
  const lw = Math.max(...c.buckets.map((b) => b.label.length)) * 7 + 10;
  const every = Math.max(1, Math.ceil(lw / band));
  c.buckets.forEach((b, i) => {
    if ((n - 1 - i) % every) return;
    const tx = svg("text", { x: (P.l + i * band + band / 2).toFixed(1), y: H - 6, "text-anchor": "middle", class: "tick" });
    tx.textContent = b.label;
    g.appendChild(tx);
  });
  const hover = svg("rect", { x: 0, y: P.t, width: band.toFixed(2), height: ih, class: "hover-band", visibility: "hidden" });
  g.insertBefore(hover, g.firstChild);
  box.appendChild(g);

  const tip = $("chart-tip");
  let cur = -1;
  const show = (i) => {
    i = Math.max(0, Math.min(n - 1, i));
    if (cur >= 0 && rects[cur]) rects[cur].classList.remove("on");
    cur = st.hover = i;
    const b = c.buckets[i];
    if (!b) return;
    rects[i].classList.add("on");
    hover.setAttribute("x", (P.l + i * band).toFixed(2));
    hover.setAttribute("visibility", "visible");
    const t = b.t || {};
    tip.replaceChildren(el("strong", "", b.title));
    const line = (k, v) => { const p = el("span", "row"); p.append(el("span", "k", k), el("span", "v", v)); tip.appendChild(p); };
    line("Cost", usd(t.cost_usd));
    line("Requests", count(t.requests));
    line("Tokens", tokens(sumTokens(t)));
    if (st.metric === "tokens" && sumTokens(t)) {
      ["input", "output", "cache write 5m", "cache write 1h", "cache read"].forEach((name, j) => line("· " + name, tokens(t[KINDS[j]])));
    }
    if (+t.errors) line("Errors", count(t.errors));
    if (+t.cache_hits) line("Cache hits", count(t.cache_hits));
    tip.hidden = false;
    const cx = P.l + i * band + band / 2;
    const half = tip.offsetWidth / 2 + 4;
    tip.style.left = Math.max(half, Math.min(W - half, cx)) + "px";
    tip.style.top = Math.max(0, y(vals[i]) - tip.offsetHeight - 8) + "px";
  };
  const hide = () => {
    if (cur >= 0 && rects[cur]) rects[cur].classList.remove("on");
    cur = st.hover = -1;
    hover.setAttribute("visibility", "hidden");
    tip.hidden = true;
  };
  const at = (ev) => {
    const r = g.getBoundingClientRect();
    return Math.floor((ev.clientX - r.left - P.l) / band);
  };
  g.addEventListener("pointermove", (ev) => { const i = at(ev); if (i >= 0 && i < n) show(i); else if (document.activeElement !== g) hide(); });
  g.addEventListener("pointerdown", (ev) => { const i = at(ev); if (i >= 0 && i < n) show(i); });
  g.addEventListener("pointerleave", () => { if (document.activeElement !== g) hide(); });
  g.addEventListener("focus", () => {
    if (cur >= 0) return;
    let last = n - 1;
    while (last > 0 && (!vals[last] || c.buckets[last].future)) last--;
    show(last);
  });
  g.addEventListener("blur", hide);
  g.addEventListener("keydown", (ev) => {
    const k = { ArrowLeft: cur - 1, ArrowRight: cur + 1, Home: 0, End: n - 1 }[ev.key];
    if (k === undefined) { if (ev.key === "Escape") hide(); return; }
    ev.preventDefault();
    show(k);
  });
  tip.hidden = true;
  st.hover = -1;
  if (keep >= 0 && keep < n) show(keep);
  if (refocus) g.focus();
}

let lastW = 0;
if ("ResizeObserver" in window) {
  new ResizeObserver(() => {
    const w = $("chart").clientWidth;
    if (w === lastW) return;
    lastW = w;
    requestAnimationFrame(drawChart);
  }).observe($("chart"));
} else {
  window.addEventListener("resize", () => requestAnimationFrame(drawChart));
}

// ---- instance and cache ----
async function loadInstance() {
  const i = await api("/api/instance");
  st.inst = i;
  st.instAt = Date.now();
  renderInstance(i);
  if (i.cache) renderCache(i.cache);
}

function renderInstance(i) {
  const commit = /^[0-9a-f]{7,}$/i.test(i.commit || "") ? " (" + i.commit.slice(0, 7) + ")" : "";
  setText("i-version", (i.version || "?") + commit);
  $("i-version").title = i.go_version ? "built with " + i.go_version : "";
  tickUptime();
  $("i-uptime").title = i.started_at ? "since " + whenFull(i.started_at) : "";
  setText("i-listen", i.listen || location.origin);
  setText("i-upstream", i.upstream || "–");
  setText("i-db", i.database || "–");
  setText("i-pid", "pid " + (i.pid || "?"));
  setText("inst-service", i.service ? "run by " + i.service : "");
  const c = i.cache;
  const fill = $("i-fill"), meter = $("i-meter");
  if (c && c.enabled) {
    const share = c.max_bytes ? Math.min(1, c.bytes / c.max_bytes) : 0;
    setText("i-cache", bytes(c.bytes) + " of " + bytes(c.max_bytes) + " · " + count(c.entries) + " entries");
    fill.style.width = (share * 100).toFixed(2) + "%";
    fill.classList.toggle("high", share > 0.9);
    meter.setAttribute("aria-valuenow", (share * 100).toFixed(1));
    meter.setAttribute("aria-valuetext", bytes(c.bytes) + " of " + bytes(c.max_bytes) + " (" + pct(share) + ")");
    meter.hidden = false;
  } else {
    setText("i-cache", "off");
    meter.hidden = true;
  }
  renderUpdate(i.update);
}

function tickUptime() {
  const i = st.inst;
  if (!i) return;
  setText("i-uptime", duration((+i.uptime_seconds || 0) + (Date.now() - st.instAt) / 1000));
}

function renderUpdate(u) {
  const box = $("update");
  const uc = $("i-update");
  uc.textContent = !u ? "not checked" : u.available ? (u.latest || "a new release") + " available" + (u.installed ? ", installed" : "") :
    u.error ? "check failed" : "up to date";
  if (u && u.channel) uc.textContent += " · " + u.channel + " channel";
  uc.title = (u && u.error) || (u && u.checked_at ? "checked " + whenFull(u.checked_at) : "");
  if (!u || !u.available) { box.hidden = true; return; }
  setText("update-title", "cco " + (u.latest || "") + " is available.");
  let t = "You run " + (u.current || (st.inst && st.inst.version) || "?") + (u.channel ? " (" + u.channel + " channel)" : "") + ".";
  t += u.installed ? " It is installed already and runs after a restart of cco." : " To update, run:";
  setText("update-text", t);
  setText("update-cmd", u.command || "cco update");
  $("update-cmd").parentElement.hidden = !!u.installed;
  $("update-copy").hidden = !(navigator.clipboard && window.isSecureContext);
  box.hidden = false;
}

$("update-copy").addEventListener("click", () => {
  const b = $("update-copy");
  navigator.clipboard.writeText($("update-cmd").textContent).then(
    () => { b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 1500); },
    () => { b.textContent = "Copy failed"; setTimeout(() => { b.textContent = "Copy"; }, 1500); });
});

function renderCache(c) {
  st.cache = c;
  const on = !!c.enabled;
  setText("cache-state", on ? "on" : "off");
  $("cache-state").className = on ? "pill ok" : "pill";
  setText("cache-hitrate", on ? pct(c.hit_rate) : "–");
  setText("cache-hits", on ? count(c.hits) + " / " + count(c.misses) : "–");
  setText("cache-bypass", on ? count(c.bypasses) + " requests" : "–");
  setText("cache-entries", on ? count(c.entries) : "–");
  setText("cache-ttl", on ? ttl(c.ttl) : "–");
  setText("cache-size", on ? bytes(c.bytes) + " of " + bytes(c.max_bytes) + (c.max_bytes ? " (" + pct(c.bytes / c.max_bytes) + ")" : "") : "–");
  $("cache-clear").disabled = !on;
}

// pageToken asks for the page token: by POST (the browser then sends
// Origin, which cco checks), or by GET from an older cco.
async function pageToken() {
  try {
    return await api("/api/page/token", { method: "POST" });
  } catch (e) {
    if (!/ answered 405/.test(e.message)) throw e;
    return api("/api/page/token");
  }
}

$("cache-clear").addEventListener("click", async () => {
  const btn = $("cache-clear"), out = $("cache-result");
  const c = st.cache;
  const what = c ? count(c.entries) + " entries (" + bytes(c.bytes) + ")" : "every entry";
  if (!window.confirm("Clear cco's response cache?\n\nIt holds " + what + ". Once cleared, repeated requests go to Anthropic again (and are billed) until they are cached anew.")) return;
  btn.disabled = true;
  out.className = "";
  out.textContent = "Clearing…";
  try {
    const tok = await pageToken();
    const r = await api("/api/page/cache/clear", { method: "POST", headers: { "X-CCO-Page-Token": tok.token || "" } });
    out.className = "ok";
    out.textContent = r.status !== "cleared" ? "cco answered: " + (r.status || "?") : c && !c.entries ? "Cleared (it was empty)." : "Cleared " + what + ".";
    refreshAll().catch(() => {});
  } catch (e) {
    out.className = "bad";
    out.textContent = "Could not clear the cache: " + e.message;
  } finally {
    btn.disabled = !(st.cache && st.cache.enabled);
  }
});

// ---- recent requests ----
const reqKey = (r) => r.request_id || r.time + "|" + r.model + "|" + r.status + "|" + r.latency_ms;

function reqRow(r, fresh) {
  const tr = el("tr", fresh ? "fresh" : "");
  tr.dataset.requestId = r.request_id || "";
  tr.dataset.time = r.time;
  if (r.id) tr.dataset.id = String(r.id);
  const td = el("td", "t");
  const tm = el("time", "", when(r.time));
  tm.dateTime = r.time;
  tm.title = whenFull(r.time) + (r.session_id ? "\nsession " + r.session_id : "") + (r.request_id ? "\n" + r.request_id : "");
  td.appendChild(tm);
  tr.appendChild(td);
  const mc = cell(tr, r.model || "–", "model", r.path || "");
  if (r.path && r.path !== "/v1/messages") mc.appendChild(el("span", "path", " " + r.path.replace(/^\/v1\/(messages\/)?/, "")));
  cell(tr, tokens(r.input_tokens), "n", count(r.input_tokens) + " input tokens");
  cell(tr, tokens(r.output_tokens), "n", count(r.output_tokens) + " output tokens");
  cacheCell(tr, r);
  if (r.cost_known === false && !r.cache_hit) cell(tr, "?", "n unknown", "no price known for this model");
  else cell(tr, usd(r.cost_usd), "n");
  cell(tr, ms(r.latency_ms), "n");
  cell(tr, r.ttfb_ms ? ms(r.ttfb_ms) : "–", "n");
  const c = cell(tr, "", "");
  if (r.cache_hit) {
    const b = el("span", "pill ok", "hit");
    b.title = "answered by cco's cache; saved " + usd(r.cache_savings_usd);
    c.appendChild(b);
  } else c.textContent = "–";
  const s = cell(tr, "", "");
  const sb = el("span", "pill " + (r.status >= 500 ? "bad" : r.status >= 400 ? "warn" : "ok"), String(r.status || "–"));
  sb.title = (r.stream ? "streamed" : "not streamed") + " · " + (r.path || "");
  s.appendChild(sb);
  cell(tr, r.error_type || "", "err");
  return tr;
}

function addRows(list, where) {
  const body = document.querySelector("#recent tbody");
  const frag = document.createDocumentFragment();
  for (const r of list) {
    const k = reqKey(r);
    if (st.seen.has(k)) continue;
    st.seen.add(k);
    const tr = reqRow(r, where === "live");
    tr.key = k;
    frag.appendChild(tr);
  }
  if (where === "append") body.appendChild(frag);
  else body.insertBefore(frag, body.firstChild);
  if (where === "live" && body.rows.length > MAX_ROWS) {
    // A page left open all day keeps its newest rows; the rest are one
    // "Load older" away again.
    while (body.rows.length > MAX_ROWS) {
      st.seen.delete(body.lastElementChild.key);
      body.lastElementChild.remove();
    }
    const last = [...body.rows].reverse().find((tr) => tr.dataset.id);
    if (last) {
      st.nextBefore = +last.dataset.id;
      $("load-older").hidden = false;
    }
  }
  const n = body.rows.length;
  $("recent-empty").hidden = n > 0;
  setText("recent-count", n ? count(n) + " shown" : "");
}

async function loadRecent(reset) {
  const r = await api("/api/requests?limit=" + PAGE);
  if (reset) {
    document.querySelector("#recent tbody").replaceChildren();
    st.seen.clear();
  }
  addRows(r.requests || [], "append");
  st.nextBefore = +r.next_before || 0;
  $("load-older").hidden = !st.nextBefore;
  st.recentReady = true;
  const pending = st.pending.splice(0);
  if (pending.length) addRows(pending.reverse(), "live");
  setError("recent", null);
}

$("load-older").addEventListener("click", async () => {
  const b = $("load-older");
  b.disabled = true;
  b.textContent = "Loading…";
  try {
    const r = await api("/api/requests?limit=" + PAGE + "&before=" + st.nextBefore);
    addRows(r.requests || [], "append");
    st.nextBefore = +r.next_before || 0;
    b.hidden = !st.nextBefore;
    setError("older", null);
  } catch (e) {
    setError("older", "Could not load older requests: " + e.message);
  } finally {
    b.disabled = false;
    b.textContent = "Load older";
  }
});

// ---- live updates ----
const LIVE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  offline: "Offline: cco is not answering; retrying",
  refused: "Live updates refused: 5 dashboards are already open. Close one, then reconnect.",
};

function setLive(state, detail) {
  const l = $("live");
  l.dataset.state = state;
  setText("live-text", state === "dropped"
    ? "Live · " + count(st.dropped) + " live updates were skipped (browser too slow); reload for exact figures"
    : state === "error" ? "Live updates failed: " + detail
    : LIVE_TEXT[state]);
  const b = $("live-retry");
  b.hidden = !(state === "refused" || state === "error" || state === "dropped");
  b.textContent = state === "dropped" ? "Reload" : "Reconnect";
}

function schedule() {
  if (st.timer) return;
  st.timer = setTimeout(() => {
    st.timer = 0;
    refreshAll().catch(() => {});
  }, 1000);
}

function connect() {
  if (st.es) st.es.close();
  setLive("connecting");
  let es;
  try {
    es = new EventSource("/api/events");
  } catch (e) {
    setLive("offline");
    return;
  }
  st.es = es;
  es.onopen = () => {
    setLive(st.dropped ? "dropped" : "live");
    if (st.down) {
      st.down = false;
      reloadAll();
    }
  };
  es.addEventListener("request", (ev) => {
    let r;
    try { r = JSON.parse(ev.data); } catch (e) { return; }
    if (!r || typeof r !== "object") return;
    if (st.recentReady) addRows([r], "live"); else st.pending.push(r);
    schedule();
  });
  es.addEventListener("dropped", (ev) => {
    let d = {};
    try { d = JSON.parse(ev.data) || {}; } catch (e) { d = {}; }
    st.dropped += +d.dropped || 0;
    setLive("dropped");
    schedule();
  });
  es.onerror = () => {
    if (es !== st.es) return;
    if (es.readyState !== EventSource.CLOSED) {
      st.down = true;
      setLive("offline");
      return;
    }
    // An error answer: the browser does not retry, and neither does the
    // page. EventSource hides the answer, so ask once more to read it.
    es.close();
    st.es = null;
    whyRefused().then((why) => {
      if (why === null) connect(); // a place came free meanwhile
      else if (why.status === 429) setLive("refused");
      else setLive("error", why.message);
    });
  };
}

// whyRefused reads the answer /api/events gives now: null when it would
// stream (the probe lets go at once), else its status and message.
async function whyRefused() {
  const ctl = new AbortController();
  try {
    const r = await fetch("/api/events", { signal: ctl.signal, cache: "no-store" });
    if (r.ok) return null;
    const body = await r.json().catch(() => null);
    return { status: r.status, message: (body && body.error && body.error.message) || "HTTP " + r.status };
  } catch (e) {
    return { status: 0, message: "cco is not answering" };
  } finally {
    ctl.abort();
  }
}

function reloadAll() {
  refreshAll().catch(() => {});
  loadRecent(true).catch((e) => setError("recent", "Could not load recent requests: " + e.message));
}

$("live-retry").addEventListener("click", () => {
  const state = $("live").dataset.state;
  if (state === "refused" || state === "error") connect();
  else {
    st.dropped = 0;
    setLive(st.es ? "live" : "connecting");
    reloadAll();
  }
});

// ---- controls ----
function pickRange(range, push) {
  if (!RANGES.includes(range)) range = "today";
  st.range = range;
  for (const b of document.querySelectorAll("button[data-range]")) b.setAttribute("aria-pressed", String(b.dataset.range === range));
  if (push) history.replaceState(null, "", "#" + range);
  delete document.body.dataset.range;
  if (st.stats[range]) renderRange(st.stats[range], range, true);
  loadStats(range).then(() => setError("load", null), (e) => setError("load", "Could not load the figures: " + e.message));
}
for (const b of document.querySelectorAll("button[data-range]")) b.addEventListener("click", () => pickRange(b.dataset.range, true));
for (const b of document.querySelectorAll("button[data-metric]")) {
  b.addEventListener("click", () => {
    st.metric = b.dataset.metric;
    for (const o of document.querySelectorAll("button[data-metric]")) o.setAttribute("aria-pressed", String(o === b));
    drawChart();
  });
}

// ---- start ----
setText("origin", location.host);
setText("base-url", "ANTHROPIC_BASE_URL=" + location.origin);
const h = location.hash.replace(/^#(range=)?/, "");
st.range = RANGES.includes(h) ? h : "today";
for (const b of document.querySelectorAll("button[data-range]")) b.setAttribute("aria-pressed", String(b.dataset.range === st.range));
connect();
refreshAll().catch(() => {});
loadRecent(false).catch((e) => {
  st.recentReady = true;
  addRows(st.pending.splice(0).reverse(), "live");
  setError("recent", "Could not load recent requests: " + e.message);
});
setInterval(tickUptime, 1000);
setInterval(() => { if (!document.hidden) refreshAll().catch(() => {}); }, 60000);
document.addEventListener("visibilitychange", () => { if (!document.hidden) schedule(); });
