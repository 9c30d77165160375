/* The personnel map (/personnel): live people by role and status, follow, trajectory, playback
 * (TripsLayer with a time slider), presence heatmap; top view (OrthographicView) or 3D (OrbitView) in
 * plant metres, drawn with the deck.gl bundle the server ships (no internet, no map tiles).
 *
 * One Deck per visit: refreshes only replace layers, so the user's camera stays. Plant strings (names,
 * zone names, rule names) reach the page only through textContent and the title property, never as HTML.
 */
(function () {
  "use strict";

  const P = window.swPlant; // the shared plant drawing (28_plantbase.js)
  const SPEEDS = [1, 10, 30, 60, 120, 300, 600];
  const slot = new P.Slot(); // the map on the page now
  const rgba = P.rgba;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  // heatmap colours: transparent blue -> cyan -> yellow -> red
  const RAMP = [
    [0, [30, 64, 175, 0]],
    [0.15, [37, 99, 235, 120]],
    [0.4, [34, 211, 238, 170]],
    [0.7, [250, 204, 21, 200]],
    [1, [239, 68, 68, 230]],
  ];
  function ramp(v) {
    for (let k = 1; k < RAMP.length; k++) {
      if (v <= RAMP[k][0]) {
        const a = RAMP[k - 1];
        const b = RAMP[k];
        const f = (v - a[0]) / (b[0] - a[0]);
        return a[1].map(function (x, i) {
          return Math.round(x + (b[1][i] - x) * f);
        });
      }
    }
    return RAMP[RAMP.length - 1][1];
  }

  function PMap(host, spec) {
    this.host = host;
    this.spec = spec;
    this.deck = null;
    this.meshes = null;
    this.live = null;
    this.mode = "live";
    this.viewKind = "top";
    this.follow = null;
    this.trips = null;
    this.heat = null;
    this.heatImage = null;
    this.path = null;
    this.time = 0;
    this.playing = false;
    this.speed = 60;
    this.vs = null;
    this.updates = 0;
    this.starting = false;
    this.tip = new P.Tip(host, "sw-pm-tip", 220);
    this.onResize = this.fit.bind(this);
    window.addEventListener("resize", this.onResize);
    // A badge is selected from the browser's own click event (P.Clicks): deck.gl's tap misses a long press.
    this.clicks = new P.Clicks(host, this, 6);
    this.fit();
    this.buildPlaybar();
  }

  PMap.prototype.fit = function () {
    const top = this.host.getBoundingClientRect().top + window.scrollY;
    let h;
    if (window.innerWidth < 768) {
      // phones: as tall as the plant drawn across the width, a little more for the 3D view
      const site = this.spec.site;
      const fitH = (this.host.clientWidth * site[1]) / site[0];
      h = Math.round(Math.min(window.innerHeight * 0.62, Math.max(300, fitH * 1.25)));
    } else {
      h = Math.round(Math.max(420, Math.min(window.innerHeight - top - 150, 900)));
    }
    this.host.style.height = h + "px";
  };

  PMap.prototype.tx = function (k) {
    return this.spec.text[k] || k;
  };

  PMap.prototype.badge = function (i) {
    return this.spec.badges[i] || { id: "?", n: "?", r: "employee", v: 0 };
  };

  // --- views --------------------------------------------------------------------------------------

  PMap.prototype.makeView = function () {
    return this.viewKind === "3d" ? P.orbitView() : P.topView();
  };

  PMap.prototype.home = function () {
    return this.viewKind === "3d" ? P.homeOrbit(this.spec, this.host, 0) : P.homeTop(this.spec, this.host);
  };

  // --- data in ------------------------------------------------------------------------------------

  PMap.prototype.update = function (spec, live, mode, view, follow, trips, heat, path) {
    this.updates += 1;
    this.spec = spec;
    if (live) {
      this.live = live;
    }
    const newMode = mode || "live";
    const newView = view || "top";
    const newFollow = follow || null;
    if (trips !== this.trips) {
      this.trips = trips || null;
      this.time = 0;
      this.pause();
      this.renderPlaybar();
    }
    if (heat !== this.heat) {
      this.heat = heat || null;
      this.heatImage = null;
    }
    this.path = path || null;
    const modeChanged = newMode !== this.mode;
    this.mode = newMode;
    if (modeChanged) {
      if (this.mode !== "playback") {
        this.pause();
      }
      this.renderPlaybar();
    }
    const viewChanged = newView !== this.viewKind;
    this.viewKind = newView;
    const followChanged = newFollow !== this.follow;
    this.follow = newFollow;
    if (!this.deck) {
      this.start();
      return;
    }
    if (viewChanged) {
      this.vs = null;
      this.deck.setProps({ views: this.makeView(), initialViewState: this.home() });
    }
    this.draw();
    if (this.follow) {
      this.centre(followChanged || viewChanged);
    } else if (followChanged && !viewChanged) {
      // no one followed any more: back to the whole plant
      const home = this.home();
      home.transitionDuration = 600;
      this.vs = null;
      this.deck.setProps({ initialViewState: home });
    }
  };

  PMap.prototype.start = function () {
    if (this.starting) {
      return;
    }
    this.starting = true;
    const self = this;
    P.load(this.spec, true)
      .then(function (meshes) {
        self.meshes = meshes;
        self.create();
      })
      .catch(function (e) {
        self.starting = false;
        P.showError(self.host, "sw-pm-error", e);
      });
  };

  PMap.prototype.create = function () {
    const self = this;
    this.instances = P.instances(this.spec);
    this.deck = P.createDeck(this.host, {
      views: this.makeView(),
      initialViewState: this.home(),
      effects: [P.lighting(1.0, 0.9)],
      pickingRadius: 6,
      layers: this.buildLayers(),
      onViewStateChange: function (p) {
        self.vs = p.viewState;
      },
      onHover: function (info) {
        self.hover(info);
      },
      onClick: function (info, event) {
        self.clicks.tap(info, event);
      },
    });
    this.host.swPersonnel = this; // for tests
    if (this.follow) {
      this.centre(true);
    }
  };

  PMap.prototype.draw = function () {
    if (this.deck) {
      this.deck.setProps({ layers: this.buildLayers() });
    }
    this.host.setAttribute("data-mode", this.mode);
    this.host.setAttribute("data-view", this.viewKind);
  };

  // --- where things are ---------------------------------------------------------------------------

  PMap.prototype.livePeople = function () {
    return (this.live && this.live.people) || [];
  };

  PMap.prototype.missing = function () {
    const m = this.live && this.live.muster;
    const out = new Set();
    if (m && m.missing) {
      m.missing.forEach(function (x) {
        if (x.i !== null && x.i !== undefined) {
          out.add(x.i);
        }
      });
    }
    return out;
  };

  // Everybody's position at the slider's time: linear between a trip's points, like the TripsLayer.
  PMap.prototype.heads = function () {
    const tr = this.trips;
    if (!tr || !tr.trips) {
      return [];
    }
    const t = this.time;
    const out = [];
    tr.trips.forEach(function (trip) {
      const ts = trip.t;
      const n = ts.length;
      if (!n || t < ts[0] || t > ts[n - 1]) {
        return;
      }
      let lo = 0;
      let hi = n - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (ts[mid] <= t) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      const a = trip.p[lo];
      const b = trip.p[hi];
      const span = ts[hi] - ts[lo];
      const f = span > 0 ? Math.min(1, Math.max(0, (t - ts[lo]) / span)) : 0;
      out.push({ b: trip.b, x: a[0] + (b[0] - a[0]) * f, y: a[1] + (b[1] - a[1]) * f });
    });
    return out;
  };

  PMap.prototype.followed = function () {
    if (!this.follow) {
      return null;
    }
    if (this.mode === "playback" && this.trips) {
      const k = this.trips.badges.findIndex(
        function (b) {
          return b.id === this.follow;
        }.bind(this)
      );
      if (k < 0) {
        return null;
      }
      const h = this.heads().find(function (o) {
        return o.b === k;
      });
      return h ? [h.x, h.y, 0] : null;
    }
    const idx = this.spec.badges.findIndex(
      function (b) {
        return b.id === this.follow;
      }.bind(this)
    );
    const row = this.livePeople().find(function (r) {
      return r[0] === idx;
    });
    return row ? [row[1], row[2], row[3]] : null;
  };

  PMap.prototype.centre = function (zoomIn) {
    const p = this.followed();
    if (!p || !this.deck) {
      return;
    }
    const home = this.home();
    const cur = this.vs || home;
    const vs = Object.assign({}, home, cur, { target: p, transitionDuration: zoomIn ? 700 : 500 });
    if (zoomIn) {
      vs.zoom = Math.max(cur.zoom, home.zoom + 2);
    }
    delete vs.transitionInterpolator;
    this.vs = vs;
    this.deck.setProps({ initialViewState: vs });
  };

  // --- layers -------------------------------------------------------------------------------------

  PMap.prototype.roleColor = function (role) {
    return P.roleColor(this.spec, role);
  };

  PMap.prototype.buildLayers = function () {
    const d = window.deck;
    const s = this.spec;
    const is3d = this.viewKind === "3d";
    const onTop = P.ON_TOP;
    const layers = [
      P.groundLayer(s),
      P.roadsLayer(s),
      P.zonesLayer(s, {
        extruded: is3d,
        fill: is3d ? 26 : 34,
        line: 150,
        props: { stroked: true, lineWidthUnits: "pixels", getLineWidth: 1 },
      }),
      P.fencesLayer(s, 200),
      P.musterLayer(s, 60),
    ];
    if (this.meshes && this.instances) {
      P.equipmentLayers(s, this.meshes, this.instances, {
        getColor: [120, 128, 140, 255],
        opacity: is3d ? 0.9 : 0.55,
        material: { ambient: 0.45, diffuse: 0.55, shininess: 16, specularColor: [30, 30, 30] },
      }).forEach(function (l) {
        layers.push(l);
      });
    }
    if (this.mode === "heatmap") {
      const hl = this.heatLayer();
      if (hl) {
        layers.push(hl);
      }
    }
    if (this.path && this.mode !== "heatmap" && this.path.badge === this.follow) {
      layers.push(
        new d.PathLayer({
          id: "path",
          data: this.path.segments,
          getPath: function (seg) {
            return seg;
          },
          getColor: [255, 255, 255, 210],
          getWidth: 2,
          widthUnits: "pixels",
          capRounded: true,
          jointRounded: true,
          parameters: onTop,
        })
      );
    }
    if (this.mode === "live") {
      this.liveLayers(layers, onTop);
    } else if (this.mode === "playback") {
      this.playbackLayers(layers, onTop);
    }
    return layers;
  };

  PMap.prototype.liveLayers = function (layers, onTop) {
    const d = window.deck;
    const s = this.spec;
    const c = s.colors;
    const self = this;
    const rows = this.livePeople();
    const people = rows.filter(function (r) {
      return !self.badge(r[0]).v;
    });
    const vehicles = rows.filter(function (r) {
      return self.badge(r[0]).v;
    });
    const missing = this.missing();
    const key = this.live ? this.live.now_ms : 0;
    layers.push(
      new d.ScatterplotLayer({
        id: "vehicles",
        data: vehicles,
        getPosition: function (r) {
          return [r[1], r[2], 1.8];
        },
        getRadius: 3.2,
        radiusUnits: "common",
        radiusMinPixels: 4.5,
        radiusMaxPixels: 20,
        getFillColor: function (r) {
          return rgba(c.role.driver, r[5] ? 120 : 255);
        },
        getLineColor: [20, 24, 30, 255],
        stroked: true,
        lineWidthUnits: "pixels",
        getLineWidth: 2,
        billboard: true,
        pickable: true,
        updateTriggers: { getFillColor: key },
        parameters: onTop,
      }),
      new d.ScatterplotLayer({
        id: "people",
        data: people,
        getPosition: function (r) {
          return [r[1], r[2], r[3] + 1.2];
        },
        getRadius: 1.6,
        radiusUnits: "common",
        radiusMinPixels: 3,
        radiusMaxPixels: 14,
        getFillColor: function (r) {
          return rgba(self.roleColor(self.badge(r[0]).r), r[5] ? 110 : 255);
        },
        getLineColor: [10, 12, 16, 230],
        stroked: true,
        lineWidthUnits: "pixels",
        getLineWidth: 1,
        billboard: true,
        pickable: true,
        updateTriggers: { getFillColor: key },
        parameters: onTop,
      })
    );
    const flagged = rows.filter(function (r) {
      return r[4] > 0;
    });
    if (missing.size) {
      layers.push(
        new d.ScatterplotLayer({
          id: "missing",
          data: rows.filter(function (r) {
            return missing.has(r[0]);
          }),
          getPosition: function (r) {
            return [r[1], r[2], r[3] + 1.2];
          },
          getRadius: 9,
          radiusUnits: "common",
          radiusMinPixels: 11,
          radiusMaxPixels: 52,
          filled: false,
          stroked: true,
          getLineColor: rgba(c.missing, 255),
          lineWidthUnits: "pixels",
          getLineWidth: 2,
          billboard: true,
          pickable: true,
          updateTriggers: { getPosition: key },
          parameters: onTop,
        })
      );
    }
    layers.push(
      new d.ScatterplotLayer({
        id: "status",
        data: flagged,
        getPosition: function (r) {
          return [r[1], r[2], r[3] + 1.2];
        },
        getRadius: function (r) {
          return r[4] === 2 ? 7 : 5;
        },
        radiusUnits: "common",
        radiusMinPixels: 7,
        radiusMaxPixels: 40,
        filled: false,
        stroked: true,
        getLineColor: function (r) {
          return rgba(c.status[String(r[4])], 255);
        },
        lineWidthUnits: "pixels",
        getLineWidth: function (r) {
          return r[4] === 2 ? 3 : 2;
        },
        billboard: true,
        pickable: true,
        updateTriggers: { getLineColor: key, getRadius: key, getLineWidth: key },
        parameters: onTop,
      })
    );
    const idx = this.follow
      ? this.spec.badges.findIndex(function (b) {
          return b.id === self.follow;
        })
      : -1;
    const me = rows.filter(function (r) {
      return r[0] === idx;
    });
    if (me.length) {
      layers.push(this.followLayer(me[0][1], me[0][2], me[0][3] + 1.2, onTop));
    }
  };

  PMap.prototype.followLayer = function (x, y, z, onTop) {
    return new window.deck.ScatterplotLayer({
      id: "follow",
      data: [[x, y, z]],
      getPosition: function (p) {
        return p;
      },
      getRadius: 9,
      radiusUnits: "common",
      radiusMinPixels: 12,
      radiusMaxPixels: 48,
      filled: false,
      stroked: true,
      getLineColor: rgba(this.spec.colors.follow, 255),
      lineWidthUnits: "pixels",
      getLineWidth: 2.5,
      billboard: true,
      parameters: onTop,
    });
  };

  PMap.prototype.playbackLayers = function (layers, onTop) {
    const tr = this.trips;
    if (!tr || !tr.trips) {
      return;
    }
    const d = window.deck;
    const self = this;
    const span = (tr.t1 - tr.t0) / 1000;
    const trail = Math.max(60, span / 60);
    layers.push(
      new d.TripsLayer({
        id: "trips",
        data: tr.trips,
        getPath: function (t) {
          return t.p;
        },
        getTimestamps: function (t) {
          return t.t;
        },
        getColor: function (t) {
          const b = tr.badges[t.b];
          return self.roleColor(b.v ? "driver" : b.r);
        },
        currentTime: this.time,
        trailLength: trail,
        fadeTrail: true,
        widthUnits: "pixels",
        getWidth: 2.5,
        capRounded: true,
        jointRounded: true,
        parameters: onTop,
      })
    );
    const heads = this.heads();
    layers.push(
      new d.ScatterplotLayer({
        id: "heads",
        data: heads,
        getPosition: function (h) {
          return [h.x, h.y, 1.2];
        },
        getRadius: function (h) {
          return tr.badges[h.b].v ? 3.2 : 1.6;
        },
        radiusUnits: "common",
        radiusMinPixels: 3,
        radiusMaxPixels: 14,
        getFillColor: function (h) {
          const b = tr.badges[h.b];
          return self.roleColor(b.v ? "driver" : b.r);
        },
        getLineColor: [10, 12, 16, 230],
        stroked: true,
        lineWidthUnits: "pixels",
        getLineWidth: 1,
        billboard: true,
        pickable: true,
        updateTriggers: { getPosition: this.time },
        parameters: onTop,
      })
    );
    if (this.follow) {
      const p = this.followed();
      if (p) {
        layers.push(this.followLayer(p[0], p[1], 1.2, onTop));
      }
    }
  };

  PMap.prototype.heatLayer = function () {
    const h = this.heat;
    if (!h || !h.data) {
      return null;
    }
    if (!this.heatImage) {
      const raw = atob(h.data);
      const canvas = document.createElement("canvas");
      canvas.width = h.nx;
      canvas.height = h.ny;
      const ctx = canvas.getContext("2d");
      const img = ctx.createImageData(h.nx, h.ny);
      for (let j = 0; j < h.ny; j++) {
        const row = h.ny - 1 - j; // grid rows run south to north, image rows top to bottom
        for (let i = 0; i < h.nx; i++) {
          const v = raw.charCodeAt(j * h.nx + i);
          const o = (row * h.nx + i) * 4;
          if (v > 0) {
            const col = ramp(v / 255);
            img.data[o] = col[0];
            img.data[o + 1] = col[1];
            img.data[o + 2] = col[2];
            img.data[o + 3] = col[3];
          }
        }
      }
      ctx.putImageData(img, 0, 0);
      this.heatImage = canvas;
      this.heatRaw = raw;
    }
    return new window.deck.BitmapLayer({
      id: "heat",
      image: this.heatImage,
      bounds: [0, 0, h.nx * h.cell, h.ny * h.cell],
      pickable: true,
      parameters: P.ON_TOP,
    });
  };

  // --- playback bar ---------------------------------------------------------------------------------

  PMap.prototype.buildPlaybar = function () {
    const bar = document.getElementById(this.spec.ids.playbar);
    if (!bar) {
      return;
    }
    bar.textContent = "";
    const self = this;
    const row = el("div", "sw-pb-row");
    const play = el("button", "btn btn-sm btn-info sw-pb-play", this.tx("play"));
    play.type = "button";
    play.addEventListener("click", function () {
      if (self.playing) {
        self.pause();
      } else {
        self.play();
      }
    });
    const speedLabel = el("label", "sw-pb-speed");
    speedLabel.appendChild(el("span", "sw-muted", this.tx("speed") + " "));
    const speed = el("select", "form-select form-select-sm");
    SPEEDS.forEach(function (v) {
      const o = el("option", "", v + "×");
      o.value = String(v);
      if (v === self.speed) {
        o.selected = true;
      }
      speed.appendChild(o);
    });
    speed.addEventListener("change", function () {
      self.speed = Number(speed.value) || 60;
    });
    speedLabel.appendChild(speed);
    const track = el("div", "sw-pb-track");
    const marks = el("div", "sw-pb-marks");
    const range = el("input", "form-range sw-pb-range");
    range.type = "range";
    range.min = "0";
    range.max = "1";
    range.step = "1";
    range.value = "0";
    range.addEventListener("input", function () {
      self.setTime(Number(range.value));
    });
    track.appendChild(marks);
    track.appendChild(range);
    const clock = el("span", "sw-pb-clock sw-num", "--:--:--");
    const count = el("span", "sw-pb-count sw-muted", "");
    row.appendChild(play);
    row.appendChild(speedLabel);
    row.appendChild(clock);
    row.appendChild(count);
    bar.appendChild(row);
    bar.appendChild(track);
    this.bar = { root: bar, play: play, speed: speed, range: range, marks: marks, clock: clock, count: count };
    this.renderPlaybar();
  };

  PMap.prototype.fmtTime = function (ms) {
    try {
      return new Intl.DateTimeFormat(this.spec.lang === "zh" ? "zh-CN" : "en-GB", {
        timeZone: this.spec.tz,
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hour12: false,
      }).format(new Date(ms));
    } catch (e) {
      return new Date(ms).toISOString();
    }
  };

  PMap.prototype.renderPlaybar = function () {
    const b = this.bar;
    if (!b) {
      return;
    }
    const show = this.mode === "playback";
    b.root.hidden = !show;
    b.root.style.display = show ? "" : "none";
    const tr = this.trips;
    b.marks.textContent = "";
    if (!tr) {
      b.range.max = "1";
      b.range.value = "0";
      b.range.disabled = true;
      b.play.disabled = true;
      b.clock.textContent = this.tx("loading");
      b.count.textContent = "";
      return;
    }
    const span = Math.max(1, (tr.t1 - tr.t0) / 1000);
    b.range.disabled = false;
    b.play.disabled = false;
    b.range.max = String(span);
    b.range.step = String(Math.max(1, Math.round(tr.step_s || 1)));
    b.range.value = String(this.time);
    const self = this;
    // overlapping violations go to separate lanes (at most four; the rest share the last one)
    const lanes = [];
    (tr.violations || []).forEach(function (v) {
      const m = el("span", "sw-pb-mark sw-sev-" + v[2]);
      const end = v[1] === null || v[1] === undefined ? span : v[1];
      let lane = lanes.findIndex(function (e) {
        return e < v[0];
      });
      if (lane < 0) {
        lane = Math.min(lanes.length, 3);
      }
      lanes[lane] = Math.max(lanes[lane] || 0, end + span / 200);
      m.style.top = lane * 6 + "px";
      m.style.left = (100 * v[0]) / span + "%";
      m.style.width = "max(3px, " + (100 * Math.max(0, end - v[0])) / span + "%)";
      const who = v[4] !== null && v[4] !== undefined && tr.badges[v[4]] ? self.name(tr.badges[v[4]]) : "";
      m.title = (self.spec.text["rule." + v[3]] || v[3]) + (who ? " - " + who : "") + " " + self.fmtTime(tr.t0 + v[0] * 1000);
      b.marks.appendChild(m);
    });
    b.marks.style.height = Math.max(1, lanes.length) * 6 + "px";
    b.marks.parentNode.style.paddingTop = Math.max(1, lanes.length) * 6 + 3 + "px";
    this.tick();
  };

  PMap.prototype.name = function (b) {
    if (!b) {
      return "";
    }
    if (this.spec.lang === "zh" && b.nz) {
      return b.nz;
    }
    return b.n || b.id;
  };

  PMap.prototype.tick = function () {
    const b = this.bar;
    const tr = this.trips;
    if (!b || !tr) {
      return;
    }
    b.range.value = String(this.time);
    b.clock.textContent = this.fmtTime(tr.t0 + this.time * 1000);
    const n = this.heads().length;
    b.count.textContent = (this.tx("playback.people") || "").replace("{n}", String(n));
    b.play.textContent = this.playing ? this.tx("pause") : this.tx("play");
    b.root.setAttribute("data-time", String(this.time));
  };

  PMap.prototype.setTime = function (s) {
    const tr = this.trips;
    if (!tr) {
      return;
    }
    const span = (tr.t1 - tr.t0) / 1000;
    this.time = Math.max(0, Math.min(span, Number(s) || 0));
    this.tick();
    if (this.mode === "playback") {
      this.draw();
      if (this.follow) {
        this.centre(false);
      }
    }
  };

  PMap.prototype.play = function () {
    const tr = this.trips;
    if (!tr || this.playing) {
      return;
    }
    const span = (tr.t1 - tr.t0) / 1000;
    if (this.time >= span) {
      this.time = 0;
    }
    this.playing = true;
    this.lastFrame = performance.now();
    const self = this;
    const frame = function (now) {
      if (!self.playing) {
        return;
      }
      const dt = Math.min(0.25, (now - self.lastFrame) / 1000);
      self.lastFrame = now;
      let t = self.time + dt * self.speed;
      if (t >= span) {
        t = span;
        self.playing = false;
      }
      self.time = t;
      self.tick();
      self.draw();
      if (self.playing) {
        self.raf = requestAnimationFrame(frame);
      }
    };
    this.raf = requestAnimationFrame(frame);
    this.tick();
  };

  PMap.prototype.pause = function () {
    this.playing = false;
    if (this.raf) {
      cancelAnimationFrame(this.raf);
      this.raf = null;
    }
    this.tick();
  };

  // --- hover and click ------------------------------------------------------------------------------

  PMap.prototype.statusText = function (code) {
    return this.tx(["tip.status.normal", "tip.status.violation", "tip.status.sos"][code] || "tip.status.normal");
  };

  PMap.prototype.describe = function (info) {
    const id = info.layer.id;
    const o = info.object;
    const tx = this.spec.text;
    if (id === "people" || id === "vehicles" || id === "status" || id === "missing") {
      const b = this.badge(o[0]);
      const lines = [b.n, b.v ? tx["tip.vehicle"] : tx["role." + b.r], this.statusText(o[4])];
      if (this.missing().has(o[0])) {
        lines.push(this.tx("tip.missing"));
      }
      if (o[5]) {
        lines.push(this.tx("tip.stale"));
      }
      return { lines: lines, badge: b.id };
    }
    if (id === "heads") {
      const b = this.trips.badges[o.b];
      return { lines: [this.name(b), b.v ? tx["tip.vehicle"] : tx["role." + b.r]], badge: b.id };
    }
    if (id === "zones") {
      return { lines: [o.n, this.tx("tip.zone")], badge: null };
    }
    if (id === "muster") {
      return { lines: [o.n, tx["tip.muster"] + ": " + o.cap], badge: null };
    }
    if (id === "heat" && this.heat && info.bitmap) {
      const px = info.bitmap.pixel;
      const j = this.heat.ny - 1 - px[1];
      const v = this.heatRaw ? this.heatRaw.charCodeAt(j * this.heat.nx + px[0]) : 0;
      const minutes = (Math.pow(v / 255, 2) * this.heat.max_s) / 60;
      return { lines: [this.tx("tip.heat").replace("{min}", minutes.toFixed(minutes < 10 ? 1 : 0))], badge: null };
    }
    return null;
  };

  // People and vehicles win over the zone, the muster point or the heatmap under the pointer.
  PMap.prototype.pick = function (info) {
    if (!info || !this.deck) {
      return info;
    }
    const id = info.layer ? info.layer.id : "";
    if (!info.layer || id === "zones" || id === "muster" || id === "heat") {
      const better = this.deck.pickObject({
        x: info.x,
        y: info.y,
        radius: 8,
        layerIds: ["people", "vehicles", "status", "missing", "heads"],
      });
      if (better && better.layer) {
        return better;
      }
    }
    return info;
  };

  PMap.prototype.hover = function (info) {
    info = this.pick(info);
    const what = P.hit(info) ? this.describe(info) : null;
    if (what) {
      this.tip.show(what.lines, info.x, info.y);
    } else {
      this.tip.hide();
    }
  };

  PMap.prototype.click = function (info) {
    info = this.pick(info);
    const what = P.hit(info) ? this.describe(info) : null;
    if (what && what.badge && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(this.spec.ids.follow, { value: what.badge });
    }
  };

  PMap.prototype.finalize = function () {
    this.pause();
    window.removeEventListener("resize", this.onResize);
    this.clicks.detach();
    if (this.deck) {
      this.deck.finalize();
      this.deck = null;
    }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    swpersonnel: {
      render: function (spec, live, mode, view, follow, trips, heat, path) {
        const nu = window.dash_clientside.no_update;
        if (!spec || !spec.ids) {
          return nu;
        }
        const host = document.getElementById(spec.ids.deck);
        if (!host) {
          return nu;
        }
        // one map per page; a map whose element left the page (navigation) stops drawing
        slot
          .at(host, function () {
            return new PMap(host, spec);
          })
          .update(spec, live, mode, view, follow, trips, heat, path);
        return nu;
      },
    },
  });
})();
