"""The review page template: HTML, CSS and a small JS viewer in one string, no network access.

review.html fills in __TITLE__ (HTML-escaped) and __DATA__ (JSON with every `<`
escaped, so no game text can close the script element). The script draws the board
as SVG, shades legal points with the same viridis/square-root scale as the pictures
(anchors passed in the data), and draws the chart of the played moves' probabilities.
Element ids the tests rely on: board, top5, played, slider, prev, next, chart, counter.
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 16px;
         color: #222; background: #fafafa; }
  h1 { font-size: 1.2em; margin: 0 0 4px 0; }
  #summary { color: #555; font-size: 0.9em; margin-bottom: 10px; }
  #main { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
  #board { width: min(92vw, 640px); height: auto; background: white; }
  #side { min-width: 260px; max-width: 420px; }
  #controls { display: flex; align-items: center; gap: 6px; margin: 8px 0; }
  #controls button { font-size: 1em; padding: 4px 10px; }
  #slider { flex: 1; }
  #counter { font-weight: bold; margin: 6px 0; }
  #played { margin: 6px 0 10px 0; }
  #played .rank { font-weight: bold; color: #e8175d; }
  #top5 { padding-left: 1.6em; margin: 4px 0; }
  #top5 li { margin: 2px 0; font-variant-numeric: tabular-nums; }
  #top5 li.hit { font-weight: bold; }
  .swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: middle;
            margin-right: 6px; border: 1px solid #888; }
  #chartbox { margin-top: 14px; max-width: 900px; }
  #chart { width: 100%; height: auto; background: white; border: 1px solid #ddd; cursor: pointer; }
  .help { color: #777; font-size: 0.85em; }
</style>
</head>
<body>
<h1 id="title"></h1>
<div id="summary"></div>
<div id="main">
  <svg id="board" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="board with policy heatmap"></svg>
  <div id="side">
    <div id="controls">
      <button id="first" title="first position (Home)">|&#x25C0;</button>
      <button id="prev" title="previous position (left arrow)">&#x25C0;</button>
      <input id="slider" type="range" min="0" max="0" value="0" aria-label="move">
      <button id="next" title="next position (right arrow)">&#x25B6;</button>
      <button id="last" title="last position (End)">&#x25B6;|</button>
    </div>
    <div id="counter"></div>
    <div id="played"></div>
    <div>Network's top 5:</div>
    <ol id="top5"></ol>
    <p class="help">Left/right arrow keys step through the game. Shading: probability the network
      gives each legal point (square-root scale, brightest = most probable). Crimson ring: the move
      actually played next, with its rank.</p>
  </div>
</div>
<div id="chartbox">
  <div>Probability the network gave to each move actually played (click to jump):</div>
  <svg id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 220"></svg>
</div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const N = D.size, STEPS = D.steps, NS = "http://www.w3.org/2000/svg", PLAYED = "#e8175d";
  const ANCH = D.viridis.map(h => [1, 3, 5].map(i => parseInt(h.substr(i, 2), 16)));
  let current = 0;

  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function colour(level) {
    const x = Math.min(Math.max(level, 0), 1) * (ANCH.length - 1);
    const lo = Math.min(Math.floor(x), ANCH.length - 2), f = x - lo;
    return ANCH[lo].map((v, i) => Math.round(v + (ANCH[lo + 1][i] - v) * f));
  }
  const rgb = c => "rgb(" + c.join(",") + ")";
  const light = c => (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255 > 0.45;
  const vertex = i => i < 0 ? "pass" : D.columns[i % N] + (Math.floor(i / N) + 1);
  const pct = p => (p * 100).toFixed(p >= 0.095 ? 0 : p >= 0.00095 ? 1 : 2) + "%";
  const X = i => i % N, Y = i => N - 1 - Math.floor(i / N);

  // static board: wood, heat cells, grid, star points, coordinates; dynamic layer on top
  const board = document.getElementById("board");
  board.setAttribute("viewBox", "-1.3 -1.3 " + (N + 1.6) + " " + (N + 1.6));
  el("rect", {x: -0.6, y: -0.6, width: N + 0.2, height: N + 0.2, fill: "#dcb35c"}, board);
  const heat = el("g", {id: "heat"}, board), cells = [];
  for (let i = 0; i < N * N; i++)
    cells.push(el("rect", {x: X(i) - 0.5, y: Y(i) - 0.5, width: 1.02, height: 1.02}, heat));
  const grid = el("g", {stroke: "#000", "stroke-width": 0.04, "stroke-opacity": 0.75}, board);
  for (let k = 0; k < N; k++) {
    el("line", {x1: 0, y1: k, x2: N - 1, y2: k}, grid);
    el("line", {x1: k, y1: 0, x2: k, y2: N - 1}, grid);
  }
  const stars = N === 19 ? [3, 9, 15] : [];
  for (const r of stars) for (const c of stars) el("circle", {cx: c, cy: r, r: 0.1, fill: "#000"}, board);
  const coords = el("g", {"font-size": 0.45, "text-anchor": "middle", "dominant-baseline": "central",
                          fill: "#333"}, board);
  for (let k = 0; k < N; k++) {
    el("text", {x: k, y: -0.95}, coords, D.columns[k]);
    el("text", {x: k, y: N - 0.05}, coords, D.columns[k]);
    el("text", {x: -0.95, y: N - 1 - k}, coords, String(k + 1));
    el("text", {x: N - 0.05, y: N - 1 - k}, coords, String(k + 1));
  }
  const layer = el("g", {id: "stones"}, board);

  function drawBoard(s) {
    let pmax = 0;
    for (const q of s.p) if (q > pmax) pmax = q;
    for (let i = 0; i < N * N; i++) {
      const q = s.p[i];
      if (q < 0) { cells[i].setAttribute("fill", "none"); continue; }
      cells[i].setAttribute("fill", rgb(colour(pmax > 0 ? Math.sqrt(q / pmax) : 0)));
    }
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    for (let i = 0; i < N * N; i++) {
      const ch = s.b[i];
      if (ch === ".") continue;
      el("circle", {cx: X(i), cy: Y(i), r: 0.47, fill: ch === "X" ? "#111" : "#f7f7f7",
                    stroke: "#000", "stroke-width": 0.04, "class": "stone " + (ch === "X" ? "black" : "white")}, layer);
    }
    if (s.last >= 0)
      el("circle", {cx: X(s.last), cy: Y(s.last), r: 0.2, fill: "none", "stroke-width": 0.07,
                    stroke: s.b[s.last] === "X" ? "#fff" : "#000"}, layer);
    for (const [i, p] of s.top) {
      const c = colour(pmax > 0 ? Math.sqrt(p * 1e5 / pmax) : 0);
      el("text", {x: X(i), y: Y(i), "font-size": 0.3, "font-weight": "bold", "text-anchor": "middle",
                  "dominant-baseline": "central", fill: light(c) ? "#000" : "#fff", stroke: rgb(c),
                  "stroke-width": 0.08, "paint-order": "stroke"}, layer, pct(p));
    }
    if (s.mv !== null && s.mv >= 0) {
      el("circle", {cx: X(s.mv), cy: Y(s.mv), r: 0.46, fill: "none", stroke: PLAYED, "stroke-width": 0.09}, layer);
      el("rect", {x: X(s.mv) + 0.22, y: Y(s.mv) - 0.62, width: 0.4, height: 0.4, rx: 0.1, fill: PLAYED}, layer);
      el("text", {x: X(s.mv) + 0.42, y: Y(s.mv) - 0.42, "font-size": 0.28, "font-weight": "bold", fill: "#fff",
                  "text-anchor": "middle", "dominant-baseline": "central"}, layer, String(s.rank));
    }
  }

  function drawSide(s) {
    const who = s.t === "B" ? "Black" : "White";
    document.getElementById("counter").textContent =
      "After " + s.n + " of " + (STEPS.length - 1) + " moves, " + who + " to play";
    const played = document.getElementById("played");
    played.textContent = "";
    if (s.mv === null) played.textContent = "End of the game: no move was played next.";
    else if (s.mv < 0) played.textContent = "Move " + (s.n + 1) + " (" + who + "): pass.";
    else {
      played.append("Move " + (s.n + 1) + " (" + who + ") played " + vertex(s.mv) + ": ");
      const span = document.createElement("span");
      span.className = "rank";
      span.textContent = "rank " + s.rank + ", " + pct(s.prob);
      played.append(span);
    }
    const list = document.getElementById("top5");
    list.textContent = "";
    let pmax = 0;
    for (const q of s.p) if (q > pmax) pmax = q;
    for (const [i, p] of s.top) {
      const li = document.createElement("li"), sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = rgb(colour(pmax > 0 ? Math.sqrt(p * 1e5 / pmax) : 0));
      li.append(sw, vertex(i) + "  " + (p * 100).toFixed(1) + "%");
      if (i === s.mv) { li.className = "hit"; li.append("  \u2190 played"); }
      list.append(li);
    }
  }

  // chart: one bar per move played, height = probability the network gave it
  const chart = document.getElementById("chart"), W = 900, H = 220, L = 40, R = 10, T = 10, B = 24;
  const moves = STEPS.length - 1, bw = (W - L - R) / Math.max(moves, 1);
  const cx = n => L + (n + 0.5) * bw, cy = p => T + (1 - p) * (H - T - B);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    el("line", {x1: L, x2: W - R, y1: cy(t), y2: cy(t), stroke: "#e4e4e4"}, chart);
    el("text", {x: L - 4, y: cy(t), "font-size": 11, "text-anchor": "end", "dominant-baseline": "central",
                fill: "#555"}, chart, (t * 100) + "%");
  }
  for (let n = 0; n < moves; n += Math.max(1, Math.ceil(moves / 12 / 10) * 10))
    el("text", {x: cx(n), y: H - 8, "font-size": 11, "text-anchor": "middle", fill: "#555"}, chart, String(n + 1));
  for (const s of STEPS) {
    if (s.mv === null || s.mv < 0) continue;
    el("rect", {x: cx(s.n) - bw * 0.4, width: bw * 0.8, y: cy(s.prob), height: cy(0) - cy(s.prob),
                fill: s.rank === 1 ? "#21918c" : (s.t === "B" ? "#333" : "#999")}, chart);
  }
  const cursor = el("line", {y1: T, y2: H - B, stroke: PLAYED, "stroke-width": 2}, chart);
  chart.addEventListener("click", ev => {
    const box = chart.getBoundingClientRect();
    const x = (ev.clientX - box.left) * W / box.width;
    show(Math.floor((x - L) / bw));
  });

  function summary() {
    let real = 0, top1 = 0, top5 = 0, sum = 0;
    for (const s of STEPS) if (s.mv !== null && s.mv >= 0) {
      real++; sum += s.prob; if (s.rank === 1) top1++; if (s.rank <= 5) top5++;
    }
    const f = k => real ? (100 * k / real).toFixed(1) + "%" : "-";
    document.getElementById("title").textContent = D.title;
    document.getElementById("summary").textContent = D.subtitle + " \u2014 " + real + " moves on the board; network's first choice " +
      f(top1) + ", in its top 5 " + f(top5) + ", mean probability of the move played " + f(sum) + ".";
  }

  const slider = document.getElementById("slider");
  slider.max = String(STEPS.length - 1);
  function show(n) {
    current = Math.min(Math.max(n, 0), STEPS.length - 1);
    const s = STEPS[current];
    drawBoard(s);
    drawSide(s);
    slider.value = String(current);
    cursor.setAttribute("x1", cx(current));
    cursor.setAttribute("x2", cx(current));
  }
  slider.addEventListener("input", () => show(Number(slider.value)));
  document.getElementById("prev").addEventListener("click", () => show(current - 1));
  document.getElementById("next").addEventListener("click", () => show(current + 1));
  document.getElementById("first").addEventListener("click", () => show(0));
  document.getElementById("last").addEventListener("click", () => show(STEPS.length - 1));
  document.addEventListener("keydown", ev => {
    if (ev.target === slider) return;  // the slider handles its own arrow keys
    const keys = {ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: STEPS.length - 1};
    if (ev.key in keys) { ev.preventDefault(); show(keys[ev.key]); }
  });
  summary();
  show(0);
})();
</script>
</body>
</html>
"""
