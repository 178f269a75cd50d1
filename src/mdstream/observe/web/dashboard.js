// The dashboard's script, served as a file of its own so that the page's
// Content-Security-Policy allows no inline script. Every value from the
// server (symbol names above all) is inserted as text, never as HTML.
"use strict";
const fmt = (x, d = 0) => Number(x).toLocaleString("en-US", {maximumFractionDigits: d, minimumFractionDigits: d});

// A small line chart on a canvas: series = [{points: [[t, y], ...], color}].
function drawChart(canvas, series, yFormat) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const all = series.flatMap(s => s.points);
  if (all.length < 2) { g.fillStyle = "#7d8a99"; g.fillText("waiting for data…", 10, 20); return; }
  const left = 64, bottom = 18, top = 6;
  const t0 = Math.min(...all.map(p => p[0])), t1 = Math.max(...all.map(p => p[0]));
  let y0 = Math.min(...all.map(p => p[1])), y1 = Math.max(...all.map(p => p[1]));
  if (y1 === y0) { y1 += 1; y0 -= 1; }
  const pad = (y1 - y0) * 0.08; const floor = Math.min(...all.map(p => p[1])) >= 0 ? 0 : -Infinity;
  y0 = Math.max(floor, y0 - pad); y1 += pad;
  const X = t => left + (w - left - 6) * (t1 === t0 ? 0 : (t - t0) / (t1 - t0));
  const Y = y => top + (h - top - bottom) * (1 - (y - y0) / (y1 - y0));
  g.strokeStyle = "#26313c"; g.fillStyle = "#7d8a99"; g.font = "11px system-ui";
  for (let i = 0; i <= 4; i++) {
    const y = y0 + (y1 - y0) * i / 4;
    g.beginPath(); g.moveTo(left, Y(y)); g.lineTo(w - 6, Y(y)); g.stroke();
    g.fillText(yFormat(y), 4, Y(y) + 4);
  }
  g.fillText(new Date(t0 * 1000).toLocaleTimeString(), left, h - 4);
  const end = new Date(t1 * 1000).toLocaleTimeString();
  g.fillText(end, w - 6 - g.measureText(end).width, h - 4);
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = 1.5; g.beginPath();
    s.points.forEach((p, i) => i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1])));
    g.stroke();
  }
}

// Values from the server are data, never markup: every cell is set as text.
function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map(cells => {
    const tr = document.createElement("tr");
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.appendChild(td);
    }
    return tr;
  }));
}

// The paper venue's panel: shown only when the engine has a venue (st.venue is null otherwise).
function showVenue(venue) {
  const panel = document.getElementById("venue");
  panel.hidden = !venue;
  if (!venue) return;
  const signed = (x, d) => (x > 0 ? "+" : "") + fmt(x, d);
  document.getElementById("kpi-pnl").textContent = signed(venue.pnl || 0, 2);
  document.getElementById("kpi-open-orders").textContent = fmt(venue.open_orders || 0);
  document.getElementById("kpi-accounts").textContent = fmt((venue.accounts || []).length);
  const tbody = document.querySelector("#positions tbody");
  fillRows(tbody, (venue.positions || []).map(p =>
    [p.account, p.symbol, signed(p.position, 4), p.position ? fmt(p.avg_px, 2) : "–",
     p.mark_px === null ? "–" : fmt(p.mark_px, 2), signed(p.realized_pnl, 2),
     signed(p.unrealized_pnl, 2), fmt(p.fees, 2), signed(p.pnl, 2),
     p.open_orders === null ? "–" : fmt(p.open_orders)]));
  // colour the P&L cell by its sign (a class, not an inline style: the page's CSP)
  for (const [i, p] of (venue.positions || []).entries()) {
    const cell = tbody.rows[i].cells[8];
    cell.className = p.pnl > 0 ? "pos" : (p.pnl < 0 ? "neg" : "");
  }
}

const css = name => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const symbolSelect = document.getElementById("symbol");

async function refresh() {
  try {
    const st = await (await fetch("/api/stats")).json();
    document.getElementById("status").textContent =
      (st.running ? "running" : "stopped") + " · updated " + new Date(st.time * 1000).toLocaleTimeString();
    const age = (st.latency_us || {}).age_at_send || {};
    document.getElementById("kpi-rate").textContent = fmt(st.ticks_per_s || 0);
    document.getElementById("kpi-p50").textContent = fmt(age.p50 || 0, 1);
    document.getElementById("kpi-p99").textContent = fmt(age.p99 || 0, 1);
    document.getElementById("kpi-p999").textContent = fmt(age.p999 || 0, 1);
    document.getElementById("kpi-processed").textContent = fmt(st.processed || 0);
    document.getElementById("kpi-subs").textContent = (st.subscriptions || []).length;
    const series = st.series || [];
    drawChart(document.getElementById("chart-rate"),
              [{points: series.map(p => [p.t, p.rate]), color: css("--good")}], y => fmt(y));
    drawChart(document.getElementById("chart-latency"), [
      {points: series.map(p => [p.t, p.p50]), color: css("--a")},
      {points: series.map(p => [p.t, p.p99]), color: css("--b")},
      {points: series.map(p => [p.t, p.p999]), color: css("--c")},
    ], y => fmt(y, 0));
    fillRows(document.querySelector("#stages tbody"), Object.entries(st.latency_us || {}).map(([k, v]) =>
      [k, fmt(v.p50, 1), fmt(v.p90, 1), fmt(v.p99, 1), fmt(v.p999, 1), fmt(v.max, 1)]));
    fillRows(document.querySelector("#subs tbody"), (st.subscriptions || []).map(s =>
      [s.id, s.symbols ? s.symbols.join(",") : "all", s.policy, fmt(s.lag), fmt(s.delivered), fmt(s.missed)]));
    showVenue(st.venue);
    const symbols = st.symbols || [];
    if (symbolSelect.options.length !== symbols.length) {
      const keep = symbolSelect.value;
      symbolSelect.replaceChildren(...symbols.map(s => {
        const option = document.createElement("option");
        option.textContent = s;
        option.value = s;
        return option;
      }));
      if (symbols.includes(keep)) symbolSelect.value = keep;
    }
    if (symbolSelect.value) {
      const pr = await (await fetch("/api/prices?symbol=" + encodeURIComponent(symbolSelect.value))).json();
      const pts = pr.points || [];
      document.getElementById("last-price").textContent = pts.length ? fmt(pts[pts.length - 1][1], 2) : "";
      drawChart(document.getElementById("chart-price"), [{points: pts, color: css("--a")}], y => fmt(y, 2));
    }
  } catch (e) {
    document.getElementById("status").textContent = "disconnected: " + e;
  }
}
refresh();
setInterval(refresh, 1000);
