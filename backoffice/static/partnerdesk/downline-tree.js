/* The explorable drawn downline: SVG drawn here from the page's JSON endpoint, no library.

   The page (templates/downline/tree.html) names the endpoint and the labels. The view starts
   at the page's node with its firstline drawn; a box's "+" expands it (its members loaded on
   demand), a click on a box re-centres the view there (its firstline loaded), a grey group box
   stands for the members not drawn and loads the next page of them. Each answer is one level
   (the sponsor with 25,000 firstline answers in tens of milliseconds). Drag to pan, wheel or the
   buttons to zoom; the search finds a name in the downline and jumps to it. Everything the
   server answers lies inside the viewer's downline already. */
(function () {
    "use strict";
    var root = document.querySelector(".downline-explorer");
    if (!root) { return; }
    var SVG_NS = "http://www.w3.org/2000/svg";
    var BOX_W = 150, BOX_H = 42, GAP_X = 14, GAP_Y = 58;
    var COLOURS = {partner: "#d9ead3", customer: "#dbe8f6", new_customer: "#fff2cc", more: "#eeeeee"};
    var TYPE_ORDER = ["partner", "customer", "new_customer"];
    var svg = root.querySelector("svg[data-test=downline-tree]");
    var viewport = svg.querySelector("g.viewport");
    var canvas = root.querySelector("[data-test=tree-canvas]");
    var crumbsList = root.querySelector("[data-test=tree-crumbs]");
    var foundList = root.querySelector("[data-test=tree-found]");
    var upButton = root.querySelector("[data-action=up]");
    var labels = root.dataset;
    var typeLabels = JSON.parse(labels.types || "{}");
    var nodes = {};           // id -> {id, name, type, firstline, downline, children, more, open}
    var centre = null, up = null, highlighted = null;
    var view = {x: 0, y: 0, k: 1};
    var lastPositions = {};

    function url(id, params) {
        var base = labels.jsonUrl.replace(/\/0\/json$/, "/" + id + "/json");
        return base + "?" + new URLSearchParams(params).toString();
    }

    function fetchJson(id, params) {
        root.dataset.busy = "1";
        return fetch(url(id, params), {credentials: "same-origin", headers: {Accept: "application/json"}})
            .then(function (response) {
                if (!response.ok) { throw new Error(String(response.status)); }
                return response.json();
            })
            .then(function (data) { delete root.dataset.busy; return data; },
                  function (error) { delete root.dataset.busy; showMessage(labels.loadFailed); throw error; });
    }

    function showMessage(text) {
        foundList.textContent = "";
        var item = document.createElement("li");
        item.textContent = text;
        foundList.appendChild(item);
    }

    /* Store a box of an answer (and its loaded members); an existing node keeps its state. */
    function merge(box, open) {
        var node = nodes[box.id] || (nodes[box.id] = {id: box.id, open: false});
        node.name = box.name; node.type = box.type;
        node.firstline = box.firstline; node.downline = box.downline;
        if (box.children) {
            node.children = box.children.map(function (child) { return merge(child, false).id; });
            node.more = box.more;
            node.open = node.open || open;
        }
        return node;
    }

    function recentre(id) {
        return fetchJson(id, {levels: 1}).then(function (data) {
            merge(data.node, true);
            centre = data.node.id; up = data.up;
            renderCrumbs(data.crumbs);
            render(null);
            placeCentre();
            svg.dataset.centre = centre;
        });
    }

    function toggle(id) {
        var node = nodes[id];
        if (node.open) { node.open = false; render(id); return Promise.resolve(); }
        if (node.children) { node.open = true; render(id); return Promise.resolve(); }
        return fetchJson(id, {levels: 1}).then(function (data) { merge(data.node, true); render(id); });
    }

    function loadMore(id) {
        var node = nodes[id];
        return fetchJson(id, {levels: 1, offset: node.more.offset}).then(function (data) {
            var added = data.node.children.map(function (child) { return merge(child, false).id; });
            node.children = node.children.concat(added);
            node.more = data.node.more;
            render(id);
        });
    }

    /* Tidy tree: leaves side by side in order, a parent centred over its members. */
    function layout() {
        var positions = {}, nextX = 0, items = [], edges = [];
        function visit(id, level) {
            var node = nodes[id];
            var kids = node.open && node.children ? node.children.slice() : [];
            var xs = [];
            kids.forEach(function (kid) { xs.push(visit(kid, level + 1)); edges.push([id, kid]); });
            if (node.open && node.more) {
                var key = "more-" + id;
                positions[key] = {x: nextX, y: (level + 1) * (BOX_H + GAP_Y)};
                items.push({key: key, more: node.more, parent: id});
                edges.push([id, key]);
                xs.push(nextX);
                nextX += BOX_W + GAP_X;
            }
            var x;
            if (xs.length) { x = (xs[0] + xs[xs.length - 1]) / 2; } else { x = nextX; nextX += BOX_W + GAP_X; }
            positions[id] = {x: x, y: level * (BOX_H + GAP_Y)};
            items.push({key: id, node: node});
            return x;
        }
        visit(centre, 0);
        return {positions: positions, items: items, edges: edges, width: Math.max(nextX, BOX_W)};
    }

    function el(name, attrs, text) {
        var element = document.createElementNS(SVG_NS, name);
        Object.keys(attrs || {}).forEach(function (key) { element.setAttribute(key, attrs[key]); });
        if (text !== undefined) { element.textContent = text; }
        return element;
    }

    function short(text, max) { return text.length <= max ? text : text.slice(0, max - 1) + "\u2026"; }

    function drawNode(item, pos) {
        var node = item.node;
        var g = el("g", {"class": "node node-" + node.type + (node.id === highlighted ? " found" : ""),
                         "data-id": node.id, transform: "translate(" + pos.x + "," + pos.y + ")",
                         role: "button", tabindex: "0"});
        g.appendChild(el("title", {}, node.name + " (" + (typeLabels[node.type] || node.type) + ")"));
        g.appendChild(el("rect", {width: BOX_W, height: BOX_H, rx: 4, fill: COLOURS[node.type] || "#fff",
                                  stroke: node.id === highlighted ? "#c00" : "#666",
                                  "stroke-width": node.id === highlighted || node.id === centre ? 2 : 1}));
        g.appendChild(el("text", {x: 6, y: 16}, short(node.name, 24)));
        g.appendChild(el("text", {x: 6, y: 32, fill: "#444"}, node.firstline + " / " + node.downline));
        if (node.firstline > 0) {
            var t = el("g", {"class": "toggle", "data-id": node.id, role: "button", tabindex: "0",
                             "aria-label": node.open ? labels.collapseLabel : labels.expandLabel,
                             transform: "translate(" + (BOX_W / 2) + "," + BOX_H + ")"});
            t.appendChild(el("title", {}, node.open ? labels.collapseLabel : labels.expandLabel));
            t.appendChild(el("circle", {r: 8, fill: "#fff", stroke: "#666"}));
            t.appendChild(el("text", {"text-anchor": "middle", y: 4, "font-size": 13},
                             node.open ? "\u2212" : "+"));
            g.appendChild(t);
        }
        return g;
    }

    function drawMore(item, pos) {
        var more = item.more;
        var g = el("g", {"class": "node node-more", "data-parent": item.parent, role: "button", tabindex: "0",
                         transform: "translate(" + pos.x + "," + pos.y + ")"});
        var parts = TYPE_ORDER.filter(function (t) { return more.by_type[t]; }).map(function (t) {
            return (typeLabels[t] || t) + ": " + more.by_type[t];
        });
        g.appendChild(el("title", {}, labels.moreHint + " \u2013 " + parts.join(", ")));
        g.appendChild(el("rect", {width: BOX_W, height: BOX_H, rx: 4, fill: COLOURS.more, stroke: "#666",
                                  "stroke-dasharray": "4 2"}));
        g.appendChild(el("text", {x: 6, y: 16}, labels.moreLabel.replace("{n}", more.count.toLocaleString())));
        var x = 6;
        TYPE_ORDER.forEach(function (t) {
            if (!more.by_type[t]) { return; }
            g.appendChild(el("rect", {x: x, y: 24, width: 9, height: 9, fill: COLOURS[t], stroke: "#666"}));
            var label = String(more.by_type[t].toLocaleString());
            g.appendChild(el("text", {x: x + 12, y: 32, fill: "#444"}, label));
            x += 20 + label.length * 6;
        });
        return g;
    }

    /* Draw the visible tree; `anchor` (a node id) keeps its place on the screen. */
    function render(anchor) {
        var drawn = layout();
        if (anchor !== null && lastPositions[anchor] && drawn.positions[anchor]) {
            view.x += (lastPositions[anchor].x - drawn.positions[anchor].x) * view.k;
            view.y += (lastPositions[anchor].y - drawn.positions[anchor].y) * view.k;
        }
        lastPositions = drawn.positions;
        while (viewport.firstChild) { viewport.removeChild(viewport.firstChild); }
        drawn.edges.forEach(function (edge) {
            var a = drawn.positions[edge[0]], b = drawn.positions[edge[1]];
            var mid = (a.y + BOX_H + b.y) / 2;
            viewport.appendChild(el("path", {d: "M" + (a.x + BOX_W / 2) + "," + (a.y + BOX_H) + " V" + mid +
                                             " H" + (b.x + BOX_W / 2) + " V" + b.y,
                                             fill: "none", stroke: "#999"}));
        });
        drawn.items.forEach(function (item) {
            var pos = drawn.positions[item.key];
            viewport.appendChild(item.node ? drawNode(item, pos) : drawMore(item, pos));
        });
        upButton.disabled = up === null;
        applyView();
    }

    function applyView() {
        viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
        svg.dataset.zoom = view.k.toFixed(3);
        svg.dataset.pan = Math.round(view.x) + "," + Math.round(view.y);
    }

    function placeCentre() {
        var width = svg.clientWidth || 1000, pos = lastPositions[centre];
        var content = layout().width;
        view.k = Math.max(0.75, Math.min(1, (width - 20) / content));  // readable first
        view.x = width / 2 - (pos.x + BOX_W / 2) * view.k;
        view.y = 16;
        applyView();
    }

    function zoom(factor, cx, cy) {
        var k = Math.max(0.1, Math.min(4, view.k * factor));
        if (cx === undefined) { cx = svg.clientWidth / 2; cy = svg.clientHeight / 2; }
        view.x = cx - (cx - view.x) * (k / view.k);
        view.y = cy - (cy - view.y) * (k / view.k);
        view.k = k;
        applyView();
    }

    function fit() {
        var box = viewport.getBBox(), width = svg.clientWidth, height = svg.clientHeight;
        if (!box.width) { return; }
        view.k = Math.max(0.05, Math.min(2, (width - 20) / box.width, (height - 20) / box.height));
        view.x = (width - box.width * view.k) / 2 - box.x * view.k;
        view.y = 10 - box.y * view.k;
        applyView();
    }

    function renderCrumbs(crumbs) {
        crumbsList.textContent = "";
        crumbs.forEach(function (crumb, i) {
            var item = document.createElement("li");
            if (i === crumbs.length - 1) {
                item.className = "active"; item.textContent = crumb.name;
            } else {
                var link = document.createElement("a");
                link.href = "#"; link.dataset.id = crumb.id; link.textContent = crumb.name;
                item.appendChild(link);
            }
            crumbsList.appendChild(item);
        });
    }

    function search(text) {
        return fetchJson(labels.start, {q: text}).then(function (data) {
            foundList.textContent = "";
            if (!data.found.length) { showMessage(labels.nothingFound); return; }
            data.found.forEach(function (hit) {
                var item = document.createElement("li");
                var link = document.createElement("a");
                link.href = "#"; link.dataset.id = hit.id; link.dataset.test = "found";
                link.textContent = hit.name + " (" + (typeLabels[hit.type] || hit.type) + ")";
                item.appendChild(link);
                foundList.appendChild(item);
            });
            if (data.found.length === 1) { jump(data.found[0].id); }
        });
    }

    function jump(id) {
        highlighted = Number(id);
        return recentre(highlighted);
    }

    function download() {
        var copy = svg.cloneNode(true), box = viewport.getBBox();
        copy.querySelector("g.viewport").removeAttribute("transform");
        copy.querySelectorAll(".toggle").forEach(function (t) { t.parentNode.removeChild(t); });
        copy.setAttribute("viewBox", [box.x - 10, box.y - 10, box.width + 20, box.height + 20].join(" "));
        copy.setAttribute("width", Math.ceil(box.width + 20));
        copy.setAttribute("height", Math.ceil(box.height + 20));
        var blob = new Blob([new XMLSerializer().serializeToString(copy)], {type: "image/svg+xml"});
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "downline-" + centre + ".svg";
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    }

    /* Clicks: a toggle expands or collapses, a group loads more, a box re-centres. */
    function activate(target) {
        var toggleEl = target.closest(".toggle");
        if (toggleEl) { return toggle(Number(toggleEl.dataset.id)); }
        var more = target.closest(".node-more");
        if (more) { return loadMore(Number(more.dataset.parent)); }
        var box = target.closest("g.node");
        if (box && Number(box.dataset.id) !== centre) { return recentre(Number(box.dataset.id)); }
        return null;
    }

    var drag = null, moved = false;
    svg.addEventListener("pointerdown", function (event) {
        drag = {x: event.clientX, y: event.clientY, vx: view.x, vy: view.y};
        moved = false;
    });
    window.addEventListener("pointermove", function (event) {
        if (!drag) { return; }
        var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; svg.classList.add("dragging"); }
        if (moved) { view.x = drag.vx + dx; view.y = drag.vy + dy; applyView(); }
    });
    window.addEventListener("pointerup", function () { drag = null; svg.classList.remove("dragging"); });
    svg.addEventListener("click", function (event) { if (!moved) { activate(event.target); } });
    svg.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(event.target); }
    });
    svg.addEventListener("wheel", function (event) {
        event.preventDefault();
        var rect = svg.getBoundingClientRect();
        zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - rect.left, event.clientY - rect.top);
    }, {passive: false});
    canvas.addEventListener("keydown", function (event) {
        var step = 60, keys = {ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step]};
        if (event.target !== canvas) { return; }
        if (keys[event.key]) { view.x += keys[event.key][0]; view.y += keys[event.key][1]; applyView(); event.preventDefault(); }
        if (event.key === "+") { zoom(1.25); }
        if (event.key === "-") { zoom(0.8); }
    });
    root.querySelector("[data-action=zoom-in]").addEventListener("click", function () { zoom(1.25); });
    root.querySelector("[data-action=zoom-out]").addEventListener("click", function () { zoom(0.8); });
    root.querySelector("[data-action=fit]").addEventListener("click", fit);
    upButton.addEventListener("click", function () { if (up !== null) { recentre(up); } });
    root.querySelector("[data-action=download]").addEventListener("click", function (event) {
        event.preventDefault(); download();
    });
    root.querySelector("[data-test=tree-search]").addEventListener("submit", function (event) {
        event.preventDefault();
        var text = root.querySelector("input[name=q]").value.trim();
        if (text) { search(text); }
    });
    crumbsList.addEventListener("click", function (event) {
        var link = event.target.closest("a[data-id]");
        if (link) { event.preventDefault(); recentre(Number(link.dataset.id)); }
    });
    foundList.addEventListener("click", function (event) {
        var link = event.target.closest("a[data-id]");
        if (link) { event.preventDefault(); jump(link.dataset.id); }
    });

    recentre(Number(labels.start)).then(function () { root.dataset.ready = "1"; });
}());
