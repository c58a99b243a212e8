/* urbangov report form: a small SVG map of the city's areas where a click (or the arrow
 * keys) puts a pin, and a "use my location" button. Progressive enhancement only: without
 * this script the form keeps its address and latitude/longitude fields and works the same.
 * No tiles and no network beyond our own /cases/areas.geojson. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var WIDTH = 1000;

  function el(name, attrs) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function rings(geometry) {
    if (!geometry) return [];
    if (geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry.type === "MultiPolygon") return geometry.coordinates;
    return [];
  }

  // Even-odd ray casting over every ring of every polygon: true when (lon, lat) is inside.
  function contains(geometry, lon, lat) {
    var inside = false;
    rings(geometry).forEach(function (polygon) {
      polygon.forEach(function (ring) {
        for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
          var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
          if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) {
            inside = !inside;
          }
        }
      });
    });
    return inside;
  }

  function PinMap(root) {
    this.root = root;
    this.form = root.closest("form");
    this.lat = this.form.querySelector("[data-map-lat]");
    this.lon = this.form.querySelector("[data-map-lon]");
    this.status = root.querySelector(".map-status");
    this.canvas = root.querySelector(".map-canvas");
    this.features = [];
    this.pin = null;
  }

  PinMap.prototype.say = function (message) {
    this.status.textContent = message;
  };

  PinMap.prototype.load = function () {
    var self = this;
    root_show(this.root);
    fetch(this.root.getAttribute("data-areas-url"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { self.draw(data.features || []); })
      .catch(function () { self.say(self.root.getAttribute("data-msg-failed")); });
    var locate = this.root.querySelector("[data-locate]");
    if (!("geolocation" in navigator)) {
      locate.hidden = true;
    } else {
      locate.addEventListener("click", function () { self.locate(); });
    }
    [this.lat, this.lon].forEach(function (input) {
      input.addEventListener("change", function () { self.fromInputs(); });
    });
  };

  function root_show(root) { root.hidden = false; }

  PinMap.prototype.draw = function (features) {
    var self = this;
    this.features = features;
    if (!features.length) { this.root.querySelector(".map-canvas").hidden = true; return; }
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    features.forEach(function (f) {
      rings(f.geometry).forEach(function (polygon) {
        polygon[0].forEach(function (p) {
          minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]);
          minY = Math.min(minY, p[1]); maxY = Math.max(maxY, p[1]);
        });
      });
    });
    var k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
    var scale = WIDTH / Math.max((maxX - minX) * k, 1e-9);
    var height = Math.max(50, (maxY - minY) * scale);
    this.project = function (lon, lat) { return [(lon - minX) * k * scale, (maxY - lat) * scale]; };
    this.unproject = function (x, y) { return [x / (k * scale) + minX, maxY - y / scale]; };
    this.bounds = { minX: minX, maxX: maxX, minY: minY, maxY: maxY };

    var svg = el("svg", {
      viewBox: "0 0 " + WIDTH + " " + Math.round(height),
      tabindex: "0",
      "aria-label": this.root.getAttribute("data-label"),
      "aria-describedby": "map-help",
      focusable: "true"
    });
    var order = { city: 0, district: 1, street: 2 };
    features.slice().sort(function (a, b) {
      return (order[a.properties.level] || 0) - (order[b.properties.level] || 0);
    }).forEach(function (f) {
      var d = rings(f.geometry).map(function (polygon) {
        return polygon.map(function (ring) {
          return ring.map(function (p, i) {
            var xy = self.project(p[0], p[1]);
            return (i ? "L" : "M") + xy[0].toFixed(1) + " " + xy[1].toFixed(1);
          }).join("") + "Z";
        }).join("");
      }).join("");
      svg.appendChild(el("path", { d: d, "class": "area " + f.properties.level }));
    });
    features.forEach(function (f) {
      if (f.properties.level !== "district") return;
      var ring = rings(f.geometry)[0][0];
      var sx = 0, sy = 0;
      ring.forEach(function (p) { var xy = self.project(p[0], p[1]); sx += xy[0]; sy += xy[1]; });
      var label = el("text", { x: sx / ring.length, y: sy / ring.length, "class": "label", "text-anchor": "middle" });
      label.textContent = f.properties.name;
      svg.appendChild(label);
    });
    this.svg = svg;
    this.canvas.appendChild(svg);
    svg.addEventListener("click", function (event) { self.click(event); });
    svg.addEventListener("keydown", function (event) { self.key(event); });
    this.fromInputs();
  };

  PinMap.prototype.areaAt = function (lon, lat) {
    var city = this.features.filter(function (f) { return f.properties.level === "city"; });
    if (city.length && !city.some(function (f) { return contains(f.geometry, lon, lat); })) return null;
    var best = null, rank = { city: 0, district: 1, street: 2 };
    this.features.forEach(function (f) {
      if (contains(f.geometry, lon, lat) && (!best || rank[f.properties.level] > rank[best.properties.level])) {
        best = f;
      }
    });
    return best || (city.length ? null : false);
  };

  PinMap.prototype.place = function (lon, lat, announce) {
    var area = this.areaAt(lon, lat);
    if (area === null) {
      this.say(this.root.getAttribute("data-msg-outside"));
      return false;
    }
    this.lat.value = lat.toFixed(6);
    this.lon.value = lon.toFixed(6);
    this.drawPin(lon, lat);
    if (announce) {
      this.say(area ? this.root.getAttribute("data-msg-pin").replace("{area}", area.properties.name)
                    : this.root.getAttribute("data-msg-pin-nowhere"));
    }
    return true;
  };

  PinMap.prototype.drawPin = function (lon, lat) {
    if (!this.svg) return;
    var xy = this.project(lon, lat);
    if (!this.pin) {
      this.pin = el("circle", { r: "9", "class": "pin" });
      this.svg.appendChild(this.pin);
    }
    this.pin.setAttribute("cx", xy[0].toFixed(1));
    this.pin.setAttribute("cy", xy[1].toFixed(1));
  };

  PinMap.prototype.fromInputs = function () {
    var lat = parseFloat(this.lat.value), lon = parseFloat(this.lon.value);
    if (isFinite(lat) && isFinite(lon) && this.svg) this.drawPin(lon, lat);
  };

  PinMap.prototype.click = function (event) {
    var pt = this.svg.createSVGPoint();
    pt.x = event.clientX; pt.y = event.clientY;
    var local = pt.matrixTransform(this.svg.getScreenCTM().inverse());
    var ll = this.unproject(local.x, local.y);
    this.place(ll[0], ll[1], true);
  };

  PinMap.prototype.key = function (event) {
    var moves = { ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
    var b = this.bounds;
    var lat = parseFloat(this.lat.value), lon = parseFloat(this.lon.value);
    if (!isFinite(lat) || !isFinite(lon)) { lat = (b.minY + b.maxY) / 2; lon = (b.minX + b.maxX) / 2; }
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      this.place(lon, lat, true);
      return;
    }
    var move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    var step = event.shiftKey ? 0.1 : 0.02;
    this.place(lon + move[0] * (b.maxX - b.minX) * step, lat + move[1] * (b.maxY - b.minY) * step, true);
  };

  PinMap.prototype.locate = function () {
    var self = this;
    this.say(this.root.getAttribute("data-msg-locating"));
    navigator.geolocation.getCurrentPosition(function (position) {
      self.place(position.coords.longitude, position.coords.latitude, true);
    }, function () {
      self.say(self.root.getAttribute("data-msg-denied"));
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  };

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-map]"), function (root) {
      if (!root.closest("form") || !window.fetch) return;
      new PinMap(root).load();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
