// agromap web map: layer list from /api/layers, tiles from /tiles, pixel query on click.
"use strict";
(function () {
  var map = L.map("map", {zoomControl: true});
  L.control.scale({imperial: false}).addTo(map);
  var state = {layers: [], groups: {}, current: null, tile: null, outline: null, marker: null};
  state.map = map;
  window.agromap = state;  // for tests and the console

  function esc(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
  function fmt(v) {
    if (v === null || v === undefined) { return "–"; }
    if (typeof v !== "number") { return esc(v); }
    var a = Math.abs(v);
    if (Number.isInteger(v)) { return v.toLocaleString("en"); }
    return v.toLocaleString("en", {maximumFractionDigits: a >= 100 ? 1 : a >= 1 ? 2 : 4});
  }
  function groupKey(l) { return l.area + "/" + l.product; }

  function legend(l) {
    var el = document.getElementById("legend");
    if (l.kind === "class") {
      el.innerHTML = l.legend.map(function (e) {
        return "<div><span class='sw' style='background:" + esc(e.color) + "'></span>" + esc(e.name) +
          " <span class='muted'>" + fmt(e.ha) + " ha</span></div>";
      }).join("") || "<span class='muted'>no classified pixels</span>";
    } else {
      var g = l.legend.stops.map(function (s) { return s[1] + " " + (100 * s[0]) + "%"; }).join(",");
      el.innerHTML = "<div class='ramp' style='background:linear-gradient(to right," + g + ")'></div>" +
        "<div class='ends'><span>" + fmt(l.legend.min) + "</span><span>" + fmt(l.legend.max) + " " +
        esc(l.units || "") + "</span></div><div class='muted'>" +
        (l.legend.stretch === "data" ? "stretched to this layer's 2-98 % range" : "fixed range") + "</div>";
    }
  }

  function table(l) {
    var el = document.getElementById("table");
    if (!l.table) { el.innerHTML = "no district table for this layer"; el.className = "muted"; return; }
    fetch("/api/table/" + encodeURIComponent(l.id)).then(function (r) { return r.json(); }).then(function (t) {
      el.className = "";
      el.innerHTML = "<table><thead><tr>" + t.columns.map(function (c) {
        return "<th>" + esc(c.replace(/_ha$/, " (ha)").replace(/_/g, " ")) + "</th>"; }).join("") +
        "</tr></thead><tbody>" + t.rows.map(function (r) {
          return "<tr>" + r.map(function (v) {
            return typeof v === "number" ? "<td class='num'>" + fmt(v) + "</td>" : "<td>" + esc(v) + "</td>"; }).join("") + "</tr>";
        }).join("") + "</tbody></table>";
    });
  }

  function outline(area) {
    if (state.outline) { map.removeLayer(state.outline); state.outline = null; }
    fetch("/api/districts/" + encodeURIComponent(area)).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) {
        if (!doc) { return; }
        state.outline = L.geoJSON(doc, {style: {color: "#222", weight: 1.5, fill: false}, interactive: false,
          onEachFeature: function (f, lyr) { if (f.properties.name) { lyr.bindTooltip(String(f.properties.name)); } }
        }).addTo(map);
      });
  }

  function show(id, fit) {
    var l = state.layers.find(function (x) { return x.id === id; });
    if (!l) { return; }
    var previous = state.current;
    state.current = l;
    if (state.tile) { map.removeLayer(state.tile); }
    state.tile = L.tileLayer("/tiles/" + encodeURIComponent(l.id) + "/{z}/{x}/{y}.png",
      {maxZoom: 20, tileSize: 256, opacity: 0.9}).addTo(map);
    state.tile.on("load", function () { document.body.setAttribute("data-tiles-loaded", l.id); });
    var b = l.bounds;
    if (fit && b.length === 4) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]]); }
    if (!previous || previous.area !== l.area) { outline(l.area); }
    legend(l);
    table(l);
    var g = state.groups[groupKey(l)];
    var time = document.getElementById("time");
    if (g.length > 1) {
      time.hidden = false;
      var s = document.getElementById("slider");
      s.max = String(g.length - 1);
      s.value = String(g.findIndex(function (x) { return x.id === l.id; }));
      document.getElementById("date").textContent = l.datetime;
    } else { time.hidden = true; }
    document.querySelectorAll("#layers input").forEach(function (i) { i.checked = (i.value === groupKey(l)); });
  }

  document.getElementById("slider").addEventListener("input", function (ev) {
    var g = state.groups[groupKey(state.current)];
    show(g[Number(ev.target.value)].id, false);
  });

  map.on("click", function (ev) {
    var l = state.current;
    if (!l) { return; }
    var lon = ev.latlng.lng, lat = ev.latlng.lat;
    fetch("/api/point/" + encodeURIComponent(l.id) + "?lon=" + lon + "&lat=" + lat)
      .then(function (r) { return r.json(); }).then(function (p) {
        var txt = p.value === null ? (p.outside ? "outside the layer" : "no data") :
          (p["class"] !== null ? p.value + " — " + p["class"] : fmt(p.value) + " " + (p.units || ""));
        var el = document.getElementById("pixel");
        el.className = "";
        el.setAttribute("data-value", p.value === null ? "" : String(p.value));
        el.innerHTML = "<strong>" + esc(l.product) + "</strong> " + esc(l.datetime) + "<br>" + esc(txt) +
          "<br><span class='muted'>" + lat.toFixed(5) + "°N, " + lon.toFixed(5) + "°E</span>";
        if (state.marker) { map.removeLayer(state.marker); }
        state.marker = L.popup().setLatLng(ev.latlng).setContent(esc(txt)).openOn(map);
      });
  });

  fetch("/api/layers").then(function (r) { return r.json(); }).then(function (layers) {
    state.layers = layers;
    var html = "", lastArea = null;
    layers.forEach(function (l) {
      var k = groupKey(l);
      if (!state.groups[k]) {
        state.groups[k] = [];
        if (l.area !== lastArea) { html += "<div class='area'>" + esc(l.area) + "</div>"; lastArea = l.area; }
        html += "<label class='" + (l.decision ? "decision" : "") + "'><input type='radio' name='layer' value='" +
          esc(k) + "'> " + esc(l.product.replace(/_/g, " ")) + (l.valid_fraction === 0 ? " <span class='muted'>(empty)</span>" : "") +
          "</label>";
      }
      state.groups[k].push(l);
    });
    Object.keys(state.groups).forEach(function (k) {
      state.groups[k].sort(function (a, b) { return a.datetime < b.datetime ? -1 : 1; });
    });
    var el = document.getElementById("layers");
    el.innerHTML = html;
    el.addEventListener("change", function (ev) {
      var g = state.groups[ev.target.value];
      show(g[g.length - 1].id, !state.current || state.current.area !== g[0].area);
    });
    var first = layers.find(function (l) { return l.valid_fraction > 0; }) || layers[0];
    if (first) { show(first.id, true); }
    document.body.setAttribute("data-layers", String(layers.length));
  });
})();
