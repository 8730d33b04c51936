// strata graph page: draws the Graph embedded in #graph-data as SVG with a
// small layered layout of its own. The graph is already layered (Node.level),
// so all that is left is the order within each layer: a few barycenter sweeps
// (the Sugiyama heuristic) that pull a node under its parents. Every name
// comes from a cluster or a registry: it is only ever set as text
// (textContent, setAttribute), never parsed as HTML.
(function () {
  "use strict";
  var started = performance.now();
  var SVGNS = "http://www.w3.org/2000/svg";
  var W = 200, H = 40, GAPX = 24, GAPY = 70, ROW = 100; // ROW: nodes per row before a layer wraps
  var phases = {};
  function phase(name) { phases[name] = Math.round(performance.now() - started); }
  var graph = JSON.parse(document.getElementById("graph-data").textContent);
  var nodes = graph.nodes || [], edges = graph.edges || [], rebuild = graph.rebuild || [];
  var byId = new Map();
  nodes.forEach(function (n) { byId.set(n.id, { n: n, up: [], down: [], el: null, x: 0, y: 0 }); });
  // Edges go from the dependent (image, workload) to what it depends on,
  // which is drawn above it: "up" is towards the bases.
  var drawnEdges = edges.filter(function (e) { return byId.has(e.from) && byId.has(e.to); });
  drawnEdges.forEach(function (e) {
    byId.get(e.from).up.push(e.to);
    byId.get(e.to).down.push(e.from);
  });

  // Layers by level, in kind order so that a level shared by a base and an
  // image never mixes them in one row.
  var kindRank = { base: 0, image: 1, workload: 2 };
  var layerKey = function (n) { return (kindRank[n.kind] || 0) * 100000 + (n.level || 0); };
  var layers = new Map();
  nodes.forEach(function (n) {
    var k = layerKey(n);
    if (!layers.has(k)) layers.set(k, []);
    layers.get(k).push(n.id);
  });
  var order = Array.from(layers.keys()).sort(function (a, b) { return a - b; }).map(function (k) {
    return layers.get(k).sort(function (a, b) {
      var x = byId.get(a).n.label, y = byId.get(b).n.label;
      return x < y ? -1 : x > y ? 1 : a < b ? -1 : 1;
    });
  });
  var pos = new Map();
  function index() { order.forEach(function (l) { l.forEach(function (id, i) { pos.set(id, i / Math.max(1, l.length - 1)); }); }); }
  function sweep(layer, dir) {
    var bc = new Map();
    layer.forEach(function (id, i) {
      var ns = byId.get(id)[dir];
      if (ns.length === 0) { bc.set(id, pos.get(id)); return; }
      var s = 0;
      ns.forEach(function (o) { s += pos.get(o); });
      bc.set(id, s / ns.length);
    });
    layer.sort(function (a, b) { return bc.get(a) - bc.get(b) || pos.get(a) - pos.get(b); });
    layer.forEach(function (id, i) { pos.set(id, i / Math.max(1, layer.length - 1)); });
  }
  index();
  for (var it = 0; it < 4; it++) {
    for (var i = 1; i < order.length; i++) sweep(order[i], "up");
    for (var j = order.length - 2; j >= 0; j--) sweep(order[j], "down");
  }

  phase("order");
  // Coordinates: a layer wider than ROW nodes wraps onto more rows; rows are
  // centred on the widest.
  var rows = [];
  order.forEach(function (l) { for (var s = 0; s < l.length; s += ROW) rows.push(l.slice(s, s + ROW)); });
  var widest = rows.reduce(function (m, r) { return Math.max(m, r.length); }, 1);
  var totalW = widest * (W + GAPX), totalH = rows.length * (H + GAPY);
  rows.forEach(function (r, ri) {
    var off = (totalW - r.length * (W + GAPX)) / 2;
    r.forEach(function (id, i) { var v = byId.get(id); v.x = off + i * (W + GAPX); v.y = ri * (H + GAPY); });
  });

  // The SVG is written as one string and parsed once: for thousands of
  // nodes the parser is several times faster than creating each element.
  // Every value from the graph goes through esc, so a name stays text.
  function esc(v) {
    return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  var edgeSVG = [];
  drawnEdges.forEach(function (e) {
    var a = byId.get(e.from), b = byId.get(e.to);
    var x1 = a.x + W / 2, y1 = a.y, x2 = b.x + W / 2, y2 = b.y + H, my = (y1 + y2) / 2;
    edgeSVG.push('<path class="edge ' + esc(e.kind) + '" data-from="' + esc(e.from) + '" data-to="' + esc(e.to) + '" data-kind="' + esc(e.kind) +
      '" d="M' + x1 + "," + y1 + " C" + x1 + "," + my + " " + x2 + "," + my + " " + x2 + "," + y2 + '"/>');
  });
  var nodeSVG = [];
  nodes.forEach(function (n) {
    var v = byId.get(n.id);
    var cls = "node " + n.kind + (n.stale ? " stale" : "") + (n.violations ? " violating" : "");
    // Shapes differ by kind too: bases square, images rounded, workloads pills.
    var r = n.kind === "base" ? 0 : n.kind === "image" ? 6 : H / 2;
    var sub = n.kind === "workload" ? (n.namespace || "") : (n.role ? n.role + " " : "") + (n.digest ? n.digest.replace("sha256:", "").slice(0, 12) : "");
    var tags = [];
    if (n.stale) tags.push('<text class="tag stale" x="' + (W - 8) + '" y="31" text-anchor="end">STALE</text>');
    if (n.violations) tags.push('<text class="tag viol" x="' + (W - (n.stale ? 48 : 8)) + '" y="31" text-anchor="end">' + (n.denied ? "DENIED " : "") + "✗ " + n.violations + "</text>");
    nodeSVG.push('<g class="' + cls + '" data-id="' + esc(n.id) + '" transform="translate(' + v.x + "," + v.y + ')">' +
      '<rect width="' + W + '" height="' + H + '" rx="' + r + '" ry="' + r + '"/>' +
      '<text x="8" y="16">' + esc(short(n.label || n.id, 32)) + "</text>" +
      '<text class="sub" x="8" y="31">' + esc(short(sub, tags.length ? 14 : 30)) + "</text>" + tags.join("") + "</g>");
  });
  phase("build");
  var edgesG = document.getElementById("edges"), nodesG = document.getElementById("nodes"), edgeEls = [];

  function tooltip(n) {
    var t = [n.kind + ": " + n.label];
    (n.refs || []).forEach(function (r) { t.push(r); });
    if (n.digest) t.push(n.digest);
    if (n.stale) t.push("stale" + (n.currentDigest ? ": its tag now points to " + n.currentDigest : ": built on an outdated base"));
    if (n.violations) t.push(n.violations + " violation(s)" + (n.policies ? ": " + n.policies.join(", ") : "") + (n.denied ? " (denied)" : ""));
    return t.join("\n");
  }

  // Pan and zoom: one transform on the viewport group.
  var svg = document.getElementById("graph"), vp = document.getElementById("viewport"), canvas = document.getElementById("canvas");
  var view = { x: 0, y: 0, k: 1 };
  function apply() {
    vp.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    // Too small to read, labels are not laid out at all: a large graph
    // zoomed out draws boxes and lines only.
    svg.classList.toggle("far", view.k < 0.4);
  }
  function fit() {
    var cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 600;
    view.k = Math.min(cw / (totalW + 40), ch / (totalH + 40), 1.5);
    view.x = (cw - totalW * view.k) / 2; view.y = 20 * view.k;
    apply();
  }
  function zoom(f, cx, cy) {
    var k = Math.max(0.01, Math.min(8, view.k * f));
    view.x = cx - (cx - view.x) * k / view.k; view.y = cy - (cy - view.y) * k / view.k; view.k = k;
    apply();
  }
  function centerOn(id) {
    var v = byId.get(id), cw = canvas.clientWidth, ch = canvas.clientHeight;
    view.k = Math.max(view.k, 0.8);
    view.x = cw / 2 - (v.x + W / 2) * view.k; view.y = ch / 2 - (v.y + H / 2) * view.k;
    apply();
  }
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = canvas.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  var drag = null, moved = false;
  canvas.addEventListener("mousedown", function (e) { drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y }; moved = false; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) { moved = true; canvas.classList.add("dragging"); }
    view.x = drag.vx + e.clientX - drag.x; view.y = drag.vy + e.clientY - drag.y; apply();
  });
  window.addEventListener("mouseup", function () { drag = null; canvas.classList.remove("dragging"); });
  document.getElementById("fit").onclick = fit;
  document.getElementById("zoom-in").onclick = function () { zoom(1.25, canvas.clientWidth / 2, canvas.clientHeight / 2); };
  document.getElementById("zoom-out").onclick = function () { zoom(0.8, canvas.clientWidth / 2, canvas.clientHeight / 2); };

  // Selection: a node and everything that depends on it, transitively.
  function dependents(id) {
    var seen = new Set([id]), stack = [id];
    while (stack.length) {
      byId.get(stack.pop()).down.forEach(function (d) { if (!seen.has(d)) { seen.add(d); stack.push(d); } });
    }
    return seen;
  }
  function clearSelection() {
    svg.classList.remove("focus");
    document.querySelectorAll(".node.hl, .node.selected, .edge.hl").forEach(function (e) { e.classList.remove("hl", "selected"); });
    var s = document.getElementById("selection");
    s.textContent = "";
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = "Click a base to highlight everything built on it and list the workloads that run it.";
    s.appendChild(p);
  }
  function select(id) {
    clearSelection();
    var set = dependents(id), n = byId.get(id).n;
    svg.classList.add("focus");
    set.forEach(function (d) { byId.get(d).el.classList.add("hl"); });
    byId.get(id).el.classList.add("selected");
    edgeEls.forEach(function (e) { if (set.has(e.dataset.from) && set.has(e.dataset.to)) e.classList.add("hl"); });
    var workloads = [], imgs = [];
    set.forEach(function (d) {
      var m = byId.get(d).n;
      if (d === id) return;
      if (m.kind === "workload") workloads.push(m); else imgs.push(m);
    });
    var s = document.getElementById("selection");
    s.textContent = "";
    s.appendChild(h("h2", n.kind + ": " + n.label));
    if (n.digest) s.appendChild(h("code", n.digest));
    if (n.stale) s.appendChild(h("p", n.currentDigest ? "STALE: its tag now points to " + n.currentDigest : "STALE: built on an outdated base"));
    s.appendChild(h("p", imgs.length + " image(s) and base(s) built on it, " + workloads.length + " workload(s) run them."));
    s.appendChild(list("workloads", workloads.map(function (w) { return w.id.replace(/^workload:/, ""); }).sort()));
    s.appendChild(list("built on it", imgs.map(function (m) { return m.label; }).sort()));
    var rows = rebuild.filter(function (u) { return set.has("image:" + u.imageDigest); });
    if (rows.length) { s.appendChild(h("h2", "to rebuild")); s.appendChild(rebuildTable(rows, "selection-rebuild")); }
  }
  function h(tag, text) { var e = document.createElement(tag); e.textContent = text; return e; }
  function list(id, items) {
    var ul = document.createElement("ul");
    ul.id = "selection-" + id.replace(/ /g, "-");
    items.forEach(function (t) { ul.appendChild(h("li", t)); });
    return ul;
  }
  nodesG.addEventListener("click", function (e) {
    var g = e.target.closest(".node");
    if (g && !moved) select(g.dataset.id);
  });
  // A node's full names, digest and state, as a tooltip made when hovered.
  nodesG.addEventListener("mouseover", function (e) {
    var g = e.target.closest(".node");
    if (!g || g.querySelector("title")) return;
    var t = document.createElementNS(SVGNS, "title");
    t.textContent = tooltip(byId.get(g.dataset.id).n);
    g.appendChild(t);
  });
  document.getElementById("clear").onclick = clearSelection;

  // Search: by label, name or digest, case-insensitive.
  var search = document.getElementById("search"), status = document.getElementById("search-status"), results = document.getElementById("search-results");
  var matches = [];
  function runSearch() {
    document.querySelectorAll(".node.match").forEach(function (e) { e.classList.remove("match"); });
    results.textContent = "";
    var q = search.value.trim().toLowerCase();
    matches = [];
    if (q) {
      nodes.forEach(function (n) {
        var hay = [n.label, n.namespace || "", n.digest || ""].concat(n.refs || []).join("\n").toLowerCase();
        if (hay.indexOf(q) >= 0) matches.push(n.id);
      });
    }
    matches.forEach(function (id) { byId.get(id).el.classList.add("match"); });
    status.textContent = q ? matches.length + " found" : "";
    if (!matches.length) return;
    results.appendChild(h("h2", "found"));
    var ul = document.createElement("ul");
    matches.slice(0, 200).forEach(function (id) {
      var n = byId.get(id).n, li = h("li", n.kind + ": " + n.label);
      li.dataset.id = id;
      li.style.cursor = "pointer";
      li.onclick = function () { centerOn(id); select(id); };
      ul.appendChild(li);
    });
    results.appendChild(ul);
    centerOn(matches[0]);
  }
  search.addEventListener("input", runSearch);

  // The rebuild list under the graph.
  function rebuildTable(rows, id) {
    var t = document.createElement("table");
    t.id = id;
    var head = document.createElement("tr");
    ["base", "base digest", "current?", "image", "image digest", "workloads"].forEach(function (c) { head.appendChild(h("th", c)); });
    t.appendChild(head);
    rows.forEach(function (u) {
      var tr = document.createElement("tr");
      tr.appendChild(h("td", u.base));
      tr.appendChild(digestCell(u.baseDigest, ""));
      var cur = u.current ? h("td", "current") : digestCell(u.currentDigest || "?", "OUTDATED → ");
      if (!u.current) cur.className = "outdated";
      tr.appendChild(cur);
      tr.appendChild(h("td", u.image));
      tr.appendChild(digestCell(u.imageDigest, ""));
      tr.appendChild(h("td", (u.workloads || []).join(", ")));
      tr.dataset.image = "image:" + u.imageDigest;
      t.appendChild(tr);
    });
    return t;
  }
  // A digest cell shows the first 12 hex digits; the whole digest is its
  // tooltip and is copied with the text.
  function digestCell(d, prefix) {
    var td = h("td", prefix + d.replace(/^sha256:([0-9a-f]{12})[0-9a-f]*$/, "sha256:$1…"));
    td.title = d;
    return td;
  }
  var rb = document.getElementById("rebuild");
  if (rebuild.length) rb.appendChild(rebuildTable(rebuild, "rebuild-table"));
  else rb.appendChild(h("p", "Nothing to rebuild: every image is built on the current digest of its bases' tags."));

  var staleCount = nodes.filter(function (n) { return n.stale; }).length;
  var violCount = nodes.filter(function (n) { return n.violations; }).length;
  var kinds = { base: 0, image: 0, workload: 0 };
  nodes.forEach(function (n) { kinds[n.kind] = (kinds[n.kind] || 0) + 1; });
  document.getElementById("counts").textContent = kinds.base + " bases, " + kinds.image + " images, " + kinds.workload + " workloads; " + staleCount + " stale, " + violCount + " with violations";

  fit();
  phase("fit");
  edgesG.innerHTML = edgeSVG.join("");
  nodesG.innerHTML = nodeSVG.join("");
  edgeEls = Array.prototype.slice.call(edgesG.children);
  Array.prototype.forEach.call(nodesG.children, function (g, i) { byId.get(nodes[i].id).el = g; });
  phase("insert");
  // The browser tests wait for data-layout="done", set once the graph is
  // drawn (after the next frame), and read how long it took.
  requestAnimationFrame(function () {
    setTimeout(function () {
      phase("painted");
      document.body.dataset.layoutMs = String(phases.painted);
      document.body.dataset.layoutPhases = JSON.stringify(phases);
      document.body.dataset.layout = "done";
    }, 0);
  });
})();
