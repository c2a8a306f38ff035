// The timeline page's script: reads the JSON model embedded in
// <script id="data">, draws the visible window into svg#timeline, and
// handles zoom (wheel, buttons), pan (drag) and tooltips (hover).
// It draws only what the window shows: when too many RPCs (or marks of
// one kind) are visible it draws them as ticks per lane instead.
// A log of several tests embeds one model per test (<script id="data-N">,
// listed in <script id="tests">); the menu #test-picker switches between
// them, and a URL hash #test=N opens test N.
(function () {
  "use strict";
  var TESTS = JSON.parse(document.getElementById("tests").textContent);
  var D, S, marks, rpcs, rpcStarts, markTimes, view, current;
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("timeline");
  var tip = document.getElementById("tooltip");
  var stats = document.getElementById("stats");
  var GUTTER = 96, AXIS_H = 26, HARNESS_H = 76, PAD_R = 18, STEP_ROWS = 3, CHAR_W = 6.5;
  var MAX_ARROWS = 2000, MAX_FAILED_ARROWS = 800, MAX_VOTE_ARROWS = 800, MAX_MARKS = 1500, KIND_AGG = 250;
  var W = 1000, H = 400, laneH = 60;

  function lowerBound(arr, x) {
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, cls, anchor) {
    var t = el("text", { x: x, y: y, "class": cls, "text-anchor": anchor || "start" }, parent);
    t.textContent = s;
    return t;
  }
  function fmtT(ms) {
    if (ms === null || ms === undefined) return "—";
    return ms.toFixed(3) + " ms";
  }
  function fmtSpan(ms) {
    if (Math.abs(ms) >= 1000) return (ms / 1000).toFixed(3) + " s";
    if (Math.abs(ms) >= 1) return ms.toFixed(2) + " ms";
    return (ms * 1000).toFixed(0) + " µs";
  }
  function fmtAt(t) {
    return Math.abs(t) >= 10000 ? (t / 1000).toFixed(3) + " s" : t.toFixed(1) + " ms";
  }
  function x(t) { return GUTTER + (t - view[0]) / (view[1] - view[0]) * (W - GUTTER - PAD_R); }
  function tAt(px) { return view[0] + (px - GUTTER) / (W - GUTTER - PAD_R) * (view[1] - view[0]); }
  function laneTop(p) { return AXIS_H + HARNESS_H + p * laneH; }
  function bandTop(p) { return laneTop(p) + laneH * 0.34; }
  function bandH() { return laneH * 0.34; }

  function outcomeText(passed) { return passed === true ? "PASSED" : passed === false ? "FAILED" : "NO VERDICT"; }

  // The test menu: shown when the log holds several tests.
  var picker = document.getElementById("test-picker");
  TESTS.tests.forEach(function (t, i) {
    var o = document.createElement("option");
    o.value = i;
    o.textContent = (i + 1) + ". " + t.label + " — " + outcomeText(t.passed);
    picker.appendChild(o);
  });
  document.getElementById("picker-label").hidden = TESTS.tests.length < 2;
  picker.addEventListener("change", function () {
    load(+picker.value);
    history.replaceState(null, "", "#test=" + picker.value);
    render();
  });

  // Loads test i's model and fills the header from it.
  function load(i) {
    current = i;
    D = JSON.parse(document.getElementById("data-" + i).textContent);
    S = D.strings;
    view = D.view.slice();
    marks = D.marks.map(function (m, k) {
      return { t: m[0], peer: m[1], kind: S[m[2]], f: m[3] || {}, i: k };
    });
    marks.sort(function (a, b) { return a.t - b.t; });
    rpcs = D.rpcs; // sorted by send time
    rpcStarts = rpcs.map(function (r) { return r[1]; });
    markTimes = marks.map(function (m) { return m.t; });
    picker.value = i;
    document.title = D.title + " — timeline";
    document.getElementById("title").textContent = D.title;
    var outcome = document.getElementById("outcome");
    outcome.textContent = outcomeText(D.passed);
    outcome.className = D.passed === true ? "passed" : D.passed === false ? "failed" : "unknown";
    var fm = document.getElementById("failure-message");
    fm.hidden = !D.failure;
    document.getElementById("zoom-failure").hidden = !D.failure;
    if (D.failure) {
      document.getElementById("failure-text").textContent = "✘ failed at " + fmtT(D.failure.t) + ": " + D.failure.message;
      var fs = document.getElementById("failure-step");
      fs.hidden = !D.failure.step;
      fs.textContent = D.failure.step ? "while: " + D.failure.step : "";
      fm.title = "click to zoom to the failure";
    }
    var wd = document.getElementById("warnings");
    var parts = [];
    if (D.unplacedRpcs) parts.push(D.unplacedRpcs + " RPCs with unknown ends are not drawn (no end_created events?)");
    if (D.warnings.length) parts.push(D.warnings.length + " malformed lines skipped: " + D.warnings.slice(0, 5).join("; ") + (D.warnings.length > 5 ? " …" : ""));
    wd.hidden = parts.length === 0;
    wd.textContent = parts.length ? "⚠ " + parts.join(" · ") : "";
  }
  document.getElementById("failure-message").addEventListener("click", zoomToFailure);

  // The first test, and view, from the URL: #test=N, #t=FROM,TO (ms).
  var testHash = /test=([0-9]+)/.exec(location.hash);
  load(testHash && +testHash[1] < TESTS.tests.length ? +testHash[1] : TESTS.selected);
  var hash = /t=([-0-9.]+),([-0-9.]+)/.exec(location.hash);
  if (hash && +hash[2] > +hash[1]) view = [+hash[1], +hash[2]];

  function niceStep(span, n) {
    var raw = span / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= raw) return steps[i] * p;
    return 10 * p;
  }
  function tickLabel(t, step) {
    if (step >= 1000) return (t / 1000).toFixed(step >= 10000 ? 0 : step >= 1000 && step % 1000 === 0 ? 0 : 1) + " s";
    if (step >= 1) return (t >= 10000 ? (t / 1000).toFixed(3) + " s" : Math.round(t) + " ms");
    return t.toFixed(Math.min(3, Math.ceil(-Math.log10(step)))) + " ms";
  }

  var scheduled = false;
  function schedule() {
    if (!scheduled) { scheduled = true; requestAnimationFrame(function () { scheduled = false; render(); }); }
  }

  function render() {
    W = Math.max(400, svg.clientWidth || window.innerWidth);
    var header = document.getElementById("top").offsetHeight;
    var avail = window.innerHeight - header - AXIS_H - HARNESS_H - 6;
    laneH = Math.max(44, Math.min(130, Math.floor(avail / Math.max(1, D.peers))));
    H = AXIS_H + HARNESS_H + D.peers * laneH + 4;
    svg.setAttribute("height", H);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.textContent = "";
    var counts = { bands: 0, rpcs: 0, failed: 0, cleanup: 0, pending: 0, checks: 0, marks: 0, steps: 0, stepLabels: 0, mode: "arrows" };

    var defs = el("defs", {}, svg);
    var pat = el("pattern", { id: "hatch", width: 7, height: 7, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
    el("rect", { width: 7, height: 7, fill: "#fff3f3" }, pat);
    el("line", { x1: 0, y1: 0, x2: 0, y2: 7, stroke: "#ef9a9a", "stroke-width": 3 }, pat);
    [["arrow", "#5c6f91"], ["arrow-vote", "#8e44ad"]].forEach(function (a) {
      var m = el("marker", { id: a[0], viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
      el("path", { d: "M0,0 L8,4 L0,8 z", fill: a[1] }, m);
    });
    var clip = el("clipPath", { id: "plot" }, defs);
    el("rect", { x: GUTTER, y: 0, width: W - GUTTER - PAD_R + 2, height: H }, clip);

    // Lanes (backgrounds), then the grid and axis.
    var lanes = [];
    for (var p = 0; p < D.peers; p++) {
      var g = el("g", { "class": "lane", "data-peer": p }, svg);
      el("rect", { "class": "lane-bg" + (p % 2 ? " alt" : ""), x: 0, y: laneTop(p), width: W, height: laneH }, g);
      lanes.push(g);
    }
    var harness = el("g", { "class": "harness-lane" }, svg);
    el("rect", { "class": "lane-bg alt", x: 0, y: AXIS_H, width: W, height: HARNESS_H }, harness);

    var span = view[1] - view[0];
    var step = niceStep(span, (W - GUTTER) / 110);
    var axis = el("g", { "class": "axis" }, svg);
    el("rect", { "class": "axis-bg", x: 0, y: 0, width: W, height: AXIS_H }, axis);
    for (var t = Math.ceil(view[0] / step) * step; t <= view[1]; t += step) {
      var gx = x(t);
      el("line", { "class": "grid", x1: gx, x2: gx, y1: AXIS_H - 6, y2: H }, axis);
      text(axis, gx + 3, 16, tickLabel(t, step), "", "start");
    }

    var plot = el("g", { "clip-path": "url(#plot)" }, svg);
    // Periods and bands go inside their lane's group (the DOM hook), clipped.
    var laneClip = lanes.map(function (g) { return el("g", { "clip-path": "url(#plot)" }, g); });
    D.periods.forEach(function (pd, i) {
      if (pd[2] < view[0] || pd[1] > view[1]) return;
      var x0 = Math.max(x(pd[1]), GUTTER - 2), x1 = Math.min(x(pd[2]), W);
      var r = el("rect", { "class": "period " + pd[3], x: x0, y: laneTop(pd[0]) + 1, width: Math.max(1, x1 - x0), height: laneH - 2, "data-p": i }, laneClip[pd[0]]);
      if (x1 - x0 > 90) text(laneClip[pd[0]], x0 + 4, laneTop(pd[0]) + laneH - 5, pd[3], "period-label " + pd[3]);
      return r;
    });
    D.bands.forEach(function (b, i) {
      if (b[2] < view[0] || b[1] > view[1]) return;
      var x0 = Math.max(x(b[1]), GUTTER - 2), x1 = Math.min(x(b[2]), W);
      var w = Math.max(0.75, x1 - x0);
      el("rect", { "class": "band " + b[3], "data-term": b[4], "data-peer": b[0], "data-b": i, x: x0, y: bandTop(b[0]), width: w, height: bandH() }, laneClip[b[0]]);
      counts.bands++;
      if (w > 24) {
        var label = w > 80 ? "term " + b[4] : "T" + b[4];
        text(laneClip[b[0]], x0 + Math.min(w / 2, 40), bandTop(b[0]) + bandH() / 2 + 4, label, "band-term on-" + b[3], "middle");
      }
    });

    // Marks: peer events in their lane, harness events on the top lane.
    var from = lowerBound(markTimes, view[0]), to = lowerBound(markTimes, view[1] + 1e-9);
    var perKind = {};
    for (var i = from; i < to; i++) perKind[marks[i].kind] = (perKind[marks[i].kind] || 0) + 1;
    var aggregate = {};
    if (to - from > MAX_MARKS) for (var k in perKind) if (perKind[k] > KIND_AGG && k !== "check" && k !== "step" && k !== "verdict") aggregate[k] = true;
    var tickPaths = {};
    var rowEnds = [];
    for (var r0 = 0; r0 < STEP_ROWS; r0++) rowEnds.push(-1e9);
    for (i = from; i < to; i++) {
      var m = marks[i], mx = x(m.t);
      if (m.peer < 0) { drawHarness(m, mx); continue; }
      if (aggregate[m.kind]) {
        var key = m.peer + "|" + m.kind;
        var tp = tickPaths[key] || (tickPaths[key] = { peer: m.peer, kind: m.kind, d: [], last: -10 });
        if (mx - tp.last >= 2) { tp.d.push("M" + mx.toFixed(1) + " " + markY(m).toFixed(1) + "v6"); tp.last = mx; }
        continue;
      }
      drawMark(m, mx, lanes[m.peer]);
    }
    Object.keys(tickPaths).forEach(function (key) {
      var tp = tickPaths[key];
      el("path", { "class": "mark-ticks", "data-kind": tp.kind, d: tp.d.join("") }, laneClip[tp.peer]);
    });

    function markY(m) {
      var top = bandTop(m.peer), bottom = top + bandH();
      switch (m.kind) {
        case "vote_request": case "vote_granted": case "vote_denied": case "term": return top - 9;
        case "timer_reset": return bottom + 2;
        case "connect": case "disconnect": case "crash": case "restart": return laneTop(m.peer) + 7;
        default: return bottom + 11;
      }
    }
    function drawMark(m, mx, lane) {
      var g = el("g", { "class": "marker" + (isKnown(m.kind) ? "" : " custom"), "data-kind": m.kind, "data-m": m.i }, laneClip[m.peer]);
      var y = markY(m);
      switch (m.kind) {
        case "vote_request": el("path", { "class": "glyph", d: "M" + mx + " " + (y - 5) + "l5 9h-10z" }, g); break;
        case "vote_granted": case "vote_denied": el("circle", { "class": "glyph", cx: mx, cy: y, r: 3.5 }, g); break;
        case "term": el("rect", { "class": "glyph", x: mx - 2.5, y: y - 2.5, width: 5, height: 5, transform: "rotate(45 " + mx + " " + y + ")" }, g); break;
        case "timer_reset": el("line", { "class": "glyph", x1: mx, x2: mx, y1: y, y2: y + 6 }, g);
          el("line", { x1: mx, x2: mx, y1: y - 1, y2: y + 7, stroke: "transparent", "stroke-width": 5 }, g); break;
        case "disconnect": case "crash": el("path", { "class": "glyph", d: "M" + (mx - 5) + " " + (y - 4) + "h10l-5 8z" }, g); break;
        case "connect": case "restart": el("path", { "class": "glyph", d: "M" + (mx - 5) + " " + (y + 4) + "h10l-5 -8z" }, g); break;
        default: el("path", { "class": "glyph", d: "M" + mx + " " + (y - 5) + "l5 5l-5 5l-5 -5z" }, g);
      }
      counts.marks++;
    }
    function drawHarness(m, mx) {
      var mid = AXIS_H + HARNESS_H - 18;
      var hp = el("g", { "clip-path": "url(#plot)" }, harness);
      if (m.kind === "check") {
        var ok = m.f.ok === true;
        var g = el("g", { "class": "check" + (ok ? "" : " failed"), "data-m": m.i }, hp);
        if (ok) el("circle", { cx: mx, cy: mid, r: 5 }, g);
        else el("path", { d: "M" + mx + " " + (mid - 9) + "l9 9l-9 9l-9 -9z" }, g);
        counts.checks++;
      } else if (m.kind === "step") {
        // Labels in full, on the first of STEP_ROWS rows free at this x;
        // a step with no free row keeps its line, and hover shows its text.
        var label = String(m.f.text || "");
        var g2 = el("g", { "class": "step", "data-m": m.i, "data-text": label }, hp);
        el("title", {}, g2).textContent = label;
        el("line", { x1: mx, x2: mx, y1: AXIS_H + 3, y2: AXIS_H + HARNESS_H - 3 }, g2);
        counts.steps++;
        for (var row = 0; row < STEP_ROWS; row++) {
          if (mx > rowEnds[row] + 6) {
            var lt = text(g2, mx + 3, AXIS_H + 12 + row * 12, label, "step-label");
            var lw = lt.getComputedTextLength ? lt.getComputedTextLength() : 0;
            rowEnds[row] = mx + 3 + (lw > 0 ? lw : label.length * CHAR_W);
            counts.stepLabels++;
            break;
          }
        }
        el("rect", { "class": "hit", x: mx - 3, y: AXIS_H, width: 6, height: HARNESS_H }, g2);
      } else if (m.kind === "verdict") {
        var g3 = el("g", { "class": "verdict" + (m.f.passed === true ? " passed" : ""), "data-m": m.i }, hp);
        el("path", { d: "M" + mx + " " + (AXIS_H + HARNESS_H - 4) + "v-26h12l-4 5l4 5h-12" }, g3);
      } else {
        var g4 = el("g", { "class": "marker custom", "data-kind": m.kind, "data-m": m.i }, hp);
        el("path", { "class": "glyph", d: "M" + mx + " " + (mid + 13) + "l5 5l-5 5l-5 -5z" }, g4);
        counts.marks++;
      }
    }

    // RPCs: arrows when few are visible, ticks per lane when many.
    var rg = el("g", { id: "rpcs" }, plot);
    var lo = lowerBound(rpcStarts, view[0] - D.maxRpcMs), hi = lowerBound(rpcStarts, view[1] + 1e-9);
    var visible = [], failedVisible = 0, votesVisible = 0;
    for (i = lo; i < hi; i++) {
      var r = rpcs[i], end = r[2] === null ? D.end : r[2];
      if (end < view[0]) continue;
      visible.push(i);
      if (r[6] === 1) failedVisible++;
      if (isVote(r)) votesVisible++;
    }
    var arrows = visible.length <= MAX_ARROWS;
    counts.mode = arrows ? "arrows" : "ticks";
    var okTicks = {}, failTicks = {};
    visible.forEach(function (i) {
      var r = rpcs[i];
      var failed = r[6] === 1;
      // Elections stay visible: vote requests are few next to heartbeats.
      if (arrows || (failed && failedVisible <= MAX_FAILED_ARROWS) || (isVote(r) && votesVisible <= MAX_VOTE_ARROWS)) { drawArrow(i); return; }
      var sx = x(r[1]), bucket = failed ? failTicks : okTicks;
      var lt = bucket[r[3]] || (bucket[r[3]] = { d: [], last: -10 });
      if (sx - lt.last >= 2) {
        var y = bandTop(r[3]) - (failed ? 17 : 15);
        lt.d.push("M" + sx.toFixed(1) + " " + y.toFixed(1) + "v" + (failed ? 8 : 6));
        lt.last = sx;
      }
    });
    [[okTicks, ""], [failTicks, " failed"]].forEach(function (pair) {
      Object.keys(pair[0]).forEach(function (p) {
        el("path", { "class": "rpc-ticks" + pair[1], "data-peer": p, d: pair[0][p].d.join("") }, rg);
      });
    });
    function drawArrow(i) {
      var r = rpcs[i], a = r[3], b = r[4];
      var method = S[r[5]], vote = /RequestVote/.test(method);
      var failed = r[6] === 1, pending = r[6] === 2;
      var x1 = x(r[1]), x2 = x(r[2] === null ? D.end : r[2]);
      var y1 = b > a ? bandTop(a) + bandH() : bandTop(a);
      var y2 = b > a ? bandTop(b) : bandTop(b) + bandH();
      if (a === b) { y1 = bandTop(a); y2 = bandTop(a) - 10; }
      var cleanup = r[6] === 3;
      var unreachable = failed && S[r[7]] === "unreachable";
      var cls = "rpc" + (vote ? " vote" : "") + (failed ? " failed" : "") + (unreachable ? " unreachable" : "") + (pending ? " pending" : "") + (cleanup ? " cleanup" : "");
      var g = el("g", { "class": cls, "data-id": r[0], "data-r": i, "data-from": a, "data-to": b }, rg);
      var attrs = { x1: x1, y1: y1, x2: x2, y2: y2 };
      if (!failed && !pending && !cleanup) attrs["marker-end"] = vote ? "url(#arrow-vote)" : "url(#arrow)";
      el("line", attrs, g);
      if (failed) el("path", { "class": "x", d: "M" + (x2 - 4) + " " + (y2 - 4) + "l8 8m-8 0l8 -8" }, g);
      el("line", { "class": "hit", x1: x1, y1: y1, x2: x2, y2: y2 }, g);
      counts.rpcs++;
      if (failed) counts.failed++;
      if (cleanup) counts.cleanup++;
      if (pending) counts.pending++;
    }

    // The failure point.
    if (D.failure) {
      var fg = el("g", { id: "failure", "data-t": D.failure.t }, plot);
      var fx = x(D.failure.t);
      el("line", { x1: fx, x2: fx, y1: AXIS_H, y2: H }, fg);
      var lx = fx + 72 > W - PAD_R ? fx - 76 : fx + 12;
      el("rect", { x: lx, y: AXIS_H + HARNESS_H - 17, width: 64, height: 15, rx: 3 }, fg);
      text(fg, lx + 32, AXIS_H + HARNESS_H - 6, "FAILURE", "", "middle");
    }

    // The gutter with the lane names, over everything.
    var gut = el("g", { "class": "gutter-g" }, svg);
    el("rect", { "class": "gutter", x: -1, y: AXIS_H, width: GUTTER - 6, height: H - AXIS_H + 1 }, gut);
    text(gut, 10, AXIS_H + HARNESS_H / 2 + 4, "harness", "lane-label");
    for (p = 0; p < D.peers; p++) {
      text(gut, 10, laneTop(p) + laneH / 2 + 1, "peer " + p, "lane-label");
      text(gut, 10, laneTop(p) + laneH / 2 + 14, roleAt(p, view[1]), "lane-sub");
    }

    document.getElementById("range").textContent = fmtAt(view[0]) + " – " + fmtAt(view[1]) + " (" + fmtSpan(span) + ")";
    stats.setAttribute("data-lanes", svg.querySelectorAll("g.lane").length);
    stats.setAttribute("data-bands", counts.bands);
    stats.setAttribute("data-rpcs", counts.rpcs);
    stats.setAttribute("data-failed-rpcs", counts.failed);
    stats.setAttribute("data-cleanup-rpcs", counts.cleanup);
    stats.setAttribute("data-pending-rpcs", counts.pending);
    stats.setAttribute("data-steps", counts.steps);
    stats.setAttribute("data-step-labels", counts.stepLabels);
    stats.setAttribute("data-test", current);
    stats.setAttribute("data-tests", TESTS.tests.length);
    stats.setAttribute("data-checks", counts.checks);
    stats.setAttribute("data-marks", counts.marks);
    stats.setAttribute("data-mode", counts.mode);
    stats.setAttribute("data-view", view[0] + "," + view[1]);
    document.body.setAttribute("data-rendered", "1");
  }

  function isVote(r) { return /RequestVote/.test(S[r[5]]); }
  function isKnown(k) {
    return /^(vote_request|vote_granted|vote_denied|term|timer_reset|connect|disconnect|crash|restart)$/.test(k);
  }
  function roleAt(p, t) {
    var last = "";
    for (var i = 0; i < D.bands.length; i++) {
      var b = D.bands[i];
      if (b[0] === p && b[1] <= t) last = b[3] + " T" + b[4];
    }
    return last;
  }

  // Tooltips.
  function rows(obj) {
    var tb = document.createElement("table");
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (v === undefined) return;
      var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
      a.className = "k"; a.textContent = k;
      b.textContent = typeof v === "string" ? v : JSON.stringify(v);
      tr.appendChild(a); tr.appendChild(b); tb.appendChild(tr);
    });
    return tb;
  }
  function describe(target) {
    var node = target;
    while (node && node !== svg) {
      var ds = node.getAttribute && node;
      if (ds) {
        if (node.hasAttribute("data-r")) {
          var r = rpcs[+node.getAttribute("data-r")];
          var reason = r[7] === null ? undefined : S[r[7]];
          return ["RPC " + r[0] + ": peer " + r[3] + " → peer " + r[4] + "  " + S[r[5]], {
            sent: fmtT(r[1]), ended: fmtT(r[2]), took: r[2] === null ? "—" : fmtSpan(r[2] - r[1]),
            outcome: r[6] === 0 ? "replied" : r[6] === 1 ? "failed: " + reason : r[6] === 3 ? "ended by the final cleanup (" + reason + "), not an error" : "unanswered: no reply or failure in the log",
            bytes: r[8] === null ? undefined : r[8], "reply bytes": r[9] === null ? undefined : r[9],
            "delayed ms": r[10] === null ? undefined : r[10]
          }];
        }
        if (node.hasAttribute("data-b")) {
          var b = D.bands[+node.getAttribute("data-b")];
          return ["peer " + b[0] + ": " + b[3] + ", term " + b[4], { from: fmtT(b[1]), to: fmtT(b[2]), lasted: fmtSpan(b[2] - b[1]) }];
        }
        if (node.hasAttribute("data-p")) {
          var pd = D.periods[+node.getAttribute("data-p")];
          return ["peer " + pd[0] + " " + pd[3], { from: fmtT(pd[1]), to: fmtT(pd[2]), lasted: fmtSpan(pd[2] - pd[1]) }];
        }
        if (node.hasAttribute("data-m")) {
          var m = D.marks[+node.getAttribute("data-m")];
          var f = { t: fmtT(m[0]) };
          if (m[1] >= 0) f.peer = m[1];
          var fields = m[3] || {};
          Object.keys(fields).forEach(function (k) { f[k] = fields[k]; });
          return [S[m[2]] + (m[1] >= 0 ? " (peer " + m[1] + ")" : ""), f];
        }
        if (node.id === "failure" && D.failure) return ["failure", { t: fmtT(D.failure.t), message: D.failure.message, while: D.failure.step || undefined }];
      }
      node = node.parentNode;
    }
    return null;
  }
  svg.addEventListener("mousemove", function (ev) {
    if (drag) return;
    var d = describe(ev.target);
    if (!d) { tip.hidden = true; return; }
    tip.textContent = "";
    var title = document.createElement("div");
    title.className = "tt-title"; title.textContent = d[0];
    tip.appendChild(title); tip.appendChild(rows(d[1]));
    tip.hidden = false;
    var tx = ev.clientX + 14, ty = ev.clientY + 14;
    if (tx + tip.offsetWidth > window.innerWidth - 4) tx = ev.clientX - tip.offsetWidth - 10;
    if (ty + tip.offsetHeight > window.innerHeight - 4) ty = ev.clientY - tip.offsetHeight - 10;
    tip.style.left = tx + "px"; tip.style.top = ty + "px";
  });
  svg.addEventListener("mouseleave", function () { tip.hidden = true; });

  // Zoom and pan.
  function setView(a, b) {
    var minSpan = 0.05, maxSpan = D.end * 1.5 + 10;
    var span = Math.min(maxSpan, Math.max(minSpan, b - a));
    var mid = (a + b) / 2;
    a = mid - span / 2; b = mid + span / 2;
    var lo = -0.05 * D.end, hi = D.end * 1.05;
    if (a < lo) { b += lo - a; a = lo; }
    if (b > hi) { a -= b - hi; b = hi; }
    view = [a, b];
    schedule();
  }
  function zoomAt(t, factor) { setView(t - (t - view[0]) * factor, t + (view[1] - t) * factor); }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var rect = svg.getBoundingClientRect();
    var t = tAt((ev.clientX - rect.left) * W / rect.width);
    zoomAt(t, Math.exp(ev.deltaY * 0.0015));
  }, { passive: false });
  var drag = null;
  svg.addEventListener("mousedown", function (ev) {
    drag = { x: ev.clientX, view: view.slice() };
    svg.classList.add("dragging");
    tip.hidden = true;
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var rect = svg.getBoundingClientRect();
    var dt = (ev.clientX - drag.x) * W / rect.width / (W - GUTTER - PAD_R) * (drag.view[1] - drag.view[0]);
    setView(drag.view[0] - dt, drag.view[1] - dt);
  });
  window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("dragging"); });
  function zoomToFailure() {
    if (!D.failure) return;
    var span = Math.min(D.end, 2000);
    setView(D.failure.t - span * 0.7, D.failure.t + span * 0.3);
  }
  document.getElementById("zoom-in").addEventListener("click", function () { zoomAt((view[0] + view[1]) / 2, 1 / 1.6); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomAt((view[0] + view[1]) / 2, 1.6); });
  document.getElementById("zoom-reset").addEventListener("click", function () { setView(0, D.end); });
  document.getElementById("zoom-failure").addEventListener("click", zoomToFailure);
  window.addEventListener("resize", schedule);
  render();
})();
