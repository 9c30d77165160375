/* The 3D plant scene (/scene): deck.gl loaded on demand, one Deck per visit, layers updated in place.
 *
 * The server sends the static scene once (a dcc.Store), the equipment meshes once (a binary bundle, typed
 * arrays for SimpleMeshLayer) and then only live fields each refresh. The Deck is never recreated: live
 * updates call deck.setProps({layers}), so the user's camera stays where the user put it. Plant strings
 * reach the page only through textContent (tooltips) or Dash (the side panel).
 *
 * Video alarms (live.vc: [camera index, priority rank, unacked, classes], live.vz: zone indices) draw their
 * camera larger in the video-alarm color with its view cone filled and its class above it, and outline
 * their zone; while any is unacknowledged these flash (only those layers are swapped, twice a second).
 */
(function () {
  "use strict";

  const P = window.swPlant; // the shared plant drawing (28_plantbase.js)
  const STATES = { r: "run", i: "idle", f: "fault", m: "maintenance", s: "stopped" };
  const ALARM_PRIORITIES = ["urgent", "high", "medium", "low"]; // the rank in live.al markers
  const PULSE_MS = 600;
  const slot = new P.Slot(); // the scene on the page now
  const rgba = P.rgba;
  const fmt = P.fmt;
  const textScale = P.textScale;
  const textWidth = P.textWidth;
  const labelExtension = P.labelExtension;

  function Scene(el) {
    this.el = el;
    this.deck = null;
    this.meshes = null;
    this.spec = null;
    this.live = null;
    this.layers = null;
    this.starting = false;
    this.viewState = null;
    this.tip = new P.Tip(el, "sw-scene-tip", 240);
    this.onResize = this.fit.bind(this);
    window.addEventListener("resize", this.onResize);
    // A click is taken from the browser's own click event (P.Clicks): deck.gl's tap misses a long press.
    this.clicks = new P.Clicks(el, this, 4);
    this.fit();
  }

  Scene.prototype.fit = function () {
    if (this.el.classList.contains("sw-scene-compact")) {
      return; // a compact view is sized by its card
    }
    const top = this.el.getBoundingClientRect().top + window.scrollY;
    const h = Math.max(360, window.innerHeight - top - 6);
    this.el.style.height = h + "px";
  };

  Scene.prototype.setSpec = function (spec) {
    if (this.spec && this.spec.mesh_url === spec.mesh_url && this.spec.lang === spec.lang) {
      return;
    }
    this.spec = spec;
    this.instances = P.instances(spec);
  };

  // The opening view: the whole site with its buildings (up to 30 m) fills the canvas.
  Scene.prototype.home = function () {
    return P.homeOrbit(this.spec, this.el, 30);
  };

  // The first view: the opening view, or, for /scene?at=x,y (a place on the site in plant metres, as the
  // safety page links a hazard source's fence), the same view centred there and closer in.
  Scene.prototype.firstView = function () {
    const home = this.home();
    const at = new URLSearchParams(window.location.search).get("at");
    const m = at ? /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(at) : null;
    if (!m) {
      return home;
    }
    const x = Number(m[1]);
    const y = Number(m[2]);
    if (x < 0 || y < 0 || x > this.spec.site[0] || y > this.spec.site[1]) {
      return home;
    }
    return Object.assign(home, { target: [x, y, 0], zoom: home.zoom + 2.5 });
  };

  Scene.prototype.update = function (spec, live, layers) {
    this.updates = (this.updates || 0) + 1;
    this.setSpec(spec);
    if (live) {
      this.live = live;
    }
    if (layers) {
      this.layers = layers;
    }
    if (this.deck) {
      this.declutter();
      this.deck.setProps({ layers: this.buildLayers() });
    } else {
      this.start();
    }
    this.pulseControl();
  };

  // Flash the video-alarm layers while an alarm there is unacknowledged (not for reduced motion).
  Scene.prototype.pulseControl = function () {
    const vc = (this.live && this.live.vc) || [];
    const unacked = vc.some(function (v) {
      return v[2];
    });
    const still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (unacked && !still && !this.pulseTimer) {
      const self = this;
      this.pulseTimer = setInterval(function () {
        self.pulse = !self.pulse;
        self.swapVideoLayers();
      }, PULSE_MS);
    } else if ((!unacked || still) && this.pulseTimer) {
      clearInterval(this.pulseTimer);
      this.pulseTimer = null;
      this.pulse = false;
      this.swapVideoLayers();
    }
  };

  // Only the video-alarm layers are rebuilt; every other layer instance stays as it is.
  Scene.prototype.swapVideoLayers = function () {
    if (!this.deck || !this.current) {
      return;
    }
    const fresh = {};
    this.videoLayers(new Set(this.layers || [])).forEach(function (l) {
      fresh[l.id] = l;
    });
    this.current = this.current.map(function (l) {
      return fresh[l.id] || l;
    });
    this.deck.setProps({ layers: this.current });
  };

  // The video alarm of camera i (its live.vc entry), or undefined.
  Scene.prototype.videoAlarm = function (i) {
    const vc = (this.live && this.live.vc) || [];
    for (let k = 0; k < vc.length; k++) {
      if (vc[k][0] === i) {
        return vc[k];
      }
    }
    return undefined;
  };

  Scene.prototype.videoText = function (v) {
    const tx = this.spec.text;
    const names = (v[3] || []).map(function (c) {
      return tx["alarm.cond." + c] || c;
    });
    return names.join(", ");
  };

  Scene.prototype.videoLayers = function (on) {
    const d = window.deck;
    const s = this.spec;
    const live = this.live || {};
    const vc = live.vc || [];
    const vz = live.vz || [];
    if (!(on.has("alarms") || on.has("cameras")) || (!vc.length && !vz.length)) {
      return [];
    }
    const color = s.colors.video || [255, 45, 85];
    const lit = !this.pulse;
    const k = this.markerScale();
    const self = this;
    const onTop = P.ON_TOP;
    const anyUnacked = vc.some(function (v) {
      return v[2];
    });
    const rings = [];
    vz.forEach(function (zi) {
      const z = s.zones[zi];
      if (!z) {
        return;
      }
      [0.4, z.h].forEach(function (h) {
        const ring = z.poly.map(function (p) {
          return [p[0], p[1], h];
        });
        ring.push([z.poly[0][0], z.poly[0][1], h]);
        rings.push(ring);
      });
      z.poly.forEach(function (p) {
        rings.push([[p[0], p[1], 0.4], [p[0], p[1], z.h]]); // the volume's edges
      });
    });
    const cams = vc.filter(function (v) {
      return s.cameras[v[0]];
    });
    const key = String(this.pulse) + "|" + JSON.stringify(vc);
    const layers = [
      new d.PathLayer({
        id: "video-zones",
        data: rings,
        getPath: function (r) {
          return r;
        },
        getColor: rgba(color, lit || !anyUnacked ? 255 : 170),
        getWidth: (lit || !anyUnacked ? 4 : 2.5) * k,
        widthUnits: "pixels",
        updateTriggers: { getColor: key },
        parameters: onTop,
      }),
      new d.PolygonLayer({
        id: "video-cones",
        data: cams,
        getPolygon: function (v) {
          return s.cameras[v[0]].cone;
        },
        getFillColor: function (v) {
          return rgba(color, v[2] && !lit ? 70 : 120);
        },
        getLineColor: rgba(color, 240),
        stroked: true,
        lineWidthUnits: "pixels",
        getLineWidth: 2.5,
        updateTriggers: { getFillColor: key },
        parameters: onTop,
      }),
      new d.ScatterplotLayer({
        id: "video-halo",
        data: cams,
        getPosition: function (v) {
          return s.cameras[v[0]].p;
        },
        getRadius: function (v) {
          return (v[2] ? (lit ? 22 : 16) : 18) * k;
        },
        radiusUnits: "pixels",
        filled: false,
        stroked: true,
        getLineColor: function (v) {
          return rgba(color, v[2] && !lit ? 170 : 235);
        },
        lineWidthUnits: "pixels",
        getLineWidth: 3,
        billboard: true,
        updateTriggers: { getRadius: key, getLineColor: key },
        parameters: onTop,
      }),
      new d.ScatterplotLayer({
        id: "video-cams",
        data: cams,
        getPosition: function (v) {
          return s.cameras[v[0]].p;
        },
        getRadius: 10 * k,
        radiusUnits: "pixels",
        getFillColor: rgba(color, 255),
        getLineColor: function (v) {
          return v[2] ? [255, 255, 255, 255] : [13, 17, 23, 255];
        },
        stroked: true,
        lineWidthUnits: "pixels",
        getLineWidth: 2.5,
        billboard: true,
        pickable: true,
        updateTriggers: { getLineColor: key },
        parameters: onTop,
      }),
    ];
    if (!this.el.classList.contains("sw-scene-compact")) {
      layers.push(
        new d.TextLayer({
          id: "video-labels",
          data: cams,
          getPosition: function (v) {
            return s.cameras[v[0]].p;
          },
          getText: function (v) {
            return self.videoText(v);
          },
          getSize: 12 * textScale(),
          sizeUnits: "pixels",
          extensions: labelExtension(),
          getColor: [255, 255, 255, 255],
          getPixelOffset: [0, -30 * k],
          fontFamily: "system-ui, 'Noto Sans CJK SC', sans-serif",
          fontWeight: 700,
          characterSet: "auto",
          background: true,
          getBackgroundColor: rgba(color, 235),
          backgroundPadding: [4, 2],
          updateTriggers: { getText: key },
          pickable: true,
          parameters: onTop,
        })
      );
    }
    return layers;
  };

  Scene.prototype.start = function () {
    if (this.starting) {
      return;
    }
    this.starting = true;
    const self = this;
    P.load(this.spec, false)
      .then(function (meshes) {
        self.meshes = meshes;
        self.create();
      })
      .catch(function (e) {
        self.starting = false;
        P.showError(self.el, "sw-scene-error", e);
      });
  };

  Scene.prototype.create = function () {
    const self = this;
    this.deck = P.createDeck(this.el, {
      views: P.orbitView(),
      initialViewState: this.firstView(),
      effects: [P.lighting(0.9, 1.1, 0.45)],
      pickingRadius: 4,
      layers: this.buildLayers(),
      onViewStateChange: function (p) {
        self.viewState = p.viewState;
        self.relabel();
      },
      onHover: function (info) {
        self.hover(info);
      },
      onClick: function (info, event) {
        self.clicks.tap(info, event);
      },
      onLoad: function () {
        self.relabel();
      },
    });
    this.el.swScene = this; // for tests and for the reset button
  };

  Scene.prototype.reset = function () {
    if (this.deck) {
      const home = this.home();
      home.transitionDuration = 600;
      this.viewState = null;
      this.deck.setProps({ initialViewState: home });
    }
  };

  Scene.prototype.zoneLevel = function (i) {
    return P.zoneLevel(this.spec, this.live, i);
  };

  Scene.prototype.stateOf = function (i) {
    const eq = this.live && this.live.eq;
    return (eq && STATES[eq[i]]) || "";
  };

  Scene.prototype.buildLayers = function () {
    const d = window.deck;
    const s = this.spec;
    const c = s.colors;
    const live = this.live || {};
    const on = new Set(this.layers || []);
    const self = this;
    const layers = [P.groundLayer(s), P.gridLayer(s)];
    const noDepthWrite = P.NO_DEPTH_WRITE;
    const onTop = P.ON_TOP;

    if (on.has("roads")) {
      layers.push(P.roadsLayer(s, { pickable: true }));
    }
    if (on.has("muster")) {
      layers.push(P.musterLayer(s, 70));
    }
    if (on.has("cameras")) {
      layers.push(
        new d.PolygonLayer({
          id: "camera-cones",
          data: s.cameras,
          getPolygon: function (cam) {
            return cam.cone;
          },
          getFillColor: rgba(c.camera, 22),
          getLineColor: rgba(c.camera, 90),
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 1,
          parameters: noDepthWrite,
        }),
        new d.ScatterplotLayer({
          id: "cameras",
          data: s.cameras,
          getPosition: function (cam) {
            return cam.p;
          },
          getRadius: 2,
          radiusUnits: "common",
          radiusMinPixels: 3,
          getFillColor: rgba(c.camera, 255),
          billboard: true,
          pickable: true,
        })
      );
    }
    if (on.has("fences")) {
      layers.push(P.fencesLayer(s, 230, { getWidth: 1.2, widthMinPixels: 2, pickable: true }));
    }
    if (on.has("equipment") && this.meshes) {
      P.equipmentLayers(s, this.meshes, this.instances, {
        getColor: function (e) {
          return c.state[self.stateOf(e.i)] || c.state[""];
        },
        updateTriggers: { getColor: live.eq || "" },
        material: { ambient: 0.35, diffuse: 0.65, shininess: 24, specularColor: [40, 40, 40] },
        pickable: true,
      }).forEach(function (l) {
        layers.push(l);
      });
    }
    const badges = live.b || [];
    if (on.has("people")) {
      layers.push(
        new d.ScatterplotLayer({
          id: "people",
          data: badges.filter(function (b) {
            return !s.badges[b[0]].v;
          }),
          getPosition: function (b) {
            return [b[1], b[2], b[3] + 1.2];
          },
          getRadius: 1.6,
          radiusUnits: "common",
          radiusMinPixels: 2.5,
          radiusMaxPixels: 14,
          getFillColor: function (b) {
            return P.roleColor(s, s.badges[b[0]].r);
          },
          getLineColor: [10, 12, 16, 220],
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 1,
          billboard: true,
          pickable: true,
        })
      );
    }
    if (on.has("vehicles")) {
      layers.push(
        new d.ScatterplotLayer({
          id: "vehicles",
          data: badges.filter(function (b) {
            return s.badges[b[0]].v;
          }),
          getPosition: function (b) {
            return [b[1], b[2], 1.8];
          },
          getRadius: 3.2,
          radiusUnits: "common",
          radiusMinPixels: 4,
          radiusMaxPixels: 20,
          getFillColor: c.role.driver,
          getLineColor: [20, 24, 30, 255],
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2,
          billboard: true,
          pickable: true,
        })
      );
    }
    const sos = badges.filter(function (b) {
      return b[4] && (on.has(s.badges[b[0]].v ? "vehicles" : "people"));
    });
    if (sos.length) {
      layers.push(
        new d.ScatterplotLayer({
          id: "sos",
          data: sos,
          getPosition: function (b) {
            return [b[1], b[2], b[3] + 1.2];
          },
          getRadius: 7,
          radiusUnits: "common",
          radiusMinPixels: 9,
          filled: false,
          stroked: true,
          getLineColor: rgba(c.sos, 255),
          lineWidthUnits: "pixels",
          getLineWidth: 3,
          billboard: true,
          pickable: true,
          parameters: onTop,
        })
      );
    }
    if (on.has("zones")) {
      layers.push(
        P.zonesLayer(s, {
          level: function (i) {
            return self.zoneLevel(i);
          },
          fill: on.has("energy") ? 0 : 46, // under the energy layer the risk volumes keep their outline only
          line: 210,
          key: (live.zl || "") + (on.has("energy") ? "e" : ""),
        }),
        P.floorsLayer(s),
        P.zoneLabelsLayer(
          s,
          this.shownZones
            ? s.zones.filter(function (z, i) {
                return self.shownZones.has(i);
              })
            : s.zones
        )
      );
    }
    if (on.has("hazards")) {
      const hz = live.hz || [];
      const hs = live.hs || "";
      const sev = function (i) {
        const ch = hs[i];
        return c.severity[ch === "-" || ch === undefined ? "-1" : ch];
      };
      const items = s.hazards.map(function (h, i) {
        return { h: h, i: i };
      });
      const shown = this.shownHazards;
      const labelled = shown
        ? items.filter(function (o) {
            return shown.has(o.i);
          })
        : [];
      layers.push(
        new d.ScatterplotLayer({
          id: "hazard-dots",
          data: items,
          getPosition: function (o) {
            return o.h.p;
          },
          getRadius: 1.5,
          radiusUnits: "common",
          radiusMinPixels: 3,
          radiusMaxPixels: 10,
          getFillColor: function (o) {
            return rgba(sev(o.i), 255);
          },
          getLineColor: [10, 12, 16, 255],
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 1,
          billboard: true,
          updateTriggers: { getFillColor: hs },
          pickable: true,
          parameters: onTop,
        }),
        new d.TextLayer({
          id: "hazards",
          data: labelled,
          visible: labelled.length > 0, // an empty label layer would build an empty font atlas
          getPosition: function (o) {
            return o.h.p;
          },
          getText: function (o) {
            return o.h.n + " " + fmt(hz[o.i]) + (o.h.u ? " " + o.h.u : "");
          },
          getSize: 11 * textScale(),
          sizeUnits: "pixels",
          extensions: labelExtension(),
          getColor: function (o) {
            return rgba(sev(o.i), 255);
          },
          getPixelOffset: [0, -12 * textScale()],
          fontFamily: "ui-monospace, monospace",
          characterSet: "auto",
          background: true,
          getBackgroundColor: [13, 17, 23, 210],
          backgroundPadding: [3, 1],
          updateTriggers: { getText: hz, getColor: hs },
          pickable: true,
          parameters: onTop,
        })
      );
    }
    if (on.has("energy") && live.en && live.en.length === s.zones.length) {
      // The optional energy layer: each zone on the ground in its energy class (per tonne against the limit,
      // else its share of the site's energy in the last 24 h), under the zones' risk volumes.
      const en = live.en;
      const zones = s.zones.map(function (z, i) {
        return { z: z, i: i };
      });
      layers.push(
        new d.PolygonLayer({
          id: "energy",
          data: zones,
          getPolygon: function (o) {
            return o.z.poly.map(function (p) {
              return [p[0], p[1], 0.3];
            });
          },
          getFillColor: function (o) {
            return rgba(c.energy[en[o.i][0]] || c.energy.none, 150);
          },
          getLineColor: function (o) {
            return rgba(c.energy[en[o.i][0]] || c.energy.none, 255);
          },
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2,
          updateTriggers: { getFillColor: JSON.stringify(en), getLineColor: JSON.stringify(en) },
          pickable: true,
          parameters: P.NO_DEPTH_WRITE,
        })
      );
    }
    if (on.has("emergency") && live.em) {
      // An emergency: its danger area on the ground, the evacuation routes over the roads (green; orange for
      // the way out of people inside the danger area).
      const em = live.em;
      layers.push(
        new d.PolygonLayer({
          id: "danger",
          data: em.d || [],
          getPolygon: function (poly) {
            return poly.map(function (p) {
              return [p[0], p[1], 0.4];
            });
          },
          getFillColor: rgba(c.danger, 70),
          getLineColor: rgba(c.danger, 230),
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2,
          pickable: true,
          parameters: P.NO_DEPTH_WRITE,
        }),
        new d.PathLayer({
          id: "routes",
          data: (em.r || []).concat(em.x || []),
          getPath: function (path) {
            return path;
          },
          getColor: function (path) {
            return (em.x || []).indexOf(path) >= 0 ? rgba(c.route_out, 230) : rgba(c.route, 220);
          },
          getWidth: 2.5,
          widthUnits: "meters",
          widthMinPixels: 2,
          jointRounded: true,
          capRounded: true,
          pickable: true,
          parameters: onTop,
        })
      );
    }
    if (on.has("permits") && live.pm && live.pm.length) {
      // Special-work permits in force (the incident replay's cursor): the work area on the ground in the kind's
      // colour, the work point as a marker with the permit's number; a suspended one outlined in red.
      const pc = c.permit || {};
      const red = c.permit_suspended || [229, 72, 77];
      const kindColor = function (o, a) {
        return rgba(pc[o.k] || [255, 255, 255], a);
      };
      const k = this.markerScale();
      layers.push(
        new d.PolygonLayer({
          id: "permits",
          data: live.pm.filter(function (o) {
            return o.a && o.a.length >= 3;
          }),
          getPolygon: function (o) {
            return o.a.map(function (p) {
              return [p[0], p[1], 0.5];
            });
          },
          getFillColor: function (o) {
            return kindColor(o, o.su ? 45 : 90);
          },
          getLineColor: function (o) {
            return o.su ? rgba(red, 255) : kindColor(o, 255);
          },
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2.5,
          pickable: true,
          parameters: noDepthWrite,
        }),
        new d.ScatterplotLayer({
          id: "permit-points",
          data: live.pm,
          getPosition: function (o) {
            return [o.p[0], o.p[1], 1.5];
          },
          getRadius: 8 * k,
          radiusUnits: "pixels",
          getFillColor: function (o) {
            return kindColor(o, 255);
          },
          getLineColor: function (o) {
            return o.su ? rgba(red, 255) : [255, 255, 255, 255];
          },
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2.5,
          billboard: true,
          pickable: true,
          parameters: onTop,
        }),
        new d.TextLayer({
          id: "permit-labels",
          data: live.pm,
          getPosition: function (o) {
            return [o.p[0], o.p[1], 1.5];
          },
          getText: function (o) {
            return "#" + o.n;
          },
          getSize: 12 * k,
          sizeUnits: "pixels",
          getPixelOffset: [0, -18 * k],
          extensions: labelExtension(),
          getColor: function (o) {
            return o.su ? rgba(red, 255) : [255, 255, 255, 255];
          },
          fontFamily: "system-ui, sans-serif",
          fontWeight: 700,
          characterSet: "#0123456789",
          background: true,
          getBackgroundColor: [13, 17, 23, 210],
          backgroundPadding: [3, 1],
          pickable: true,
          parameters: onTop,
        })
      );
    }
    if (on.has("emissions") && s.stacks && s.stacks.length) {
      // A column over each stack: its highest pollutant now against that pollutant's hourly limit (height in
      // proportion, 60 m at the limit; green under 80 %, amber up to the limit, red over it).
      const ec = live.ec || [];
      const cols = s.stacks.map(function (st, i) {
        return { st: st, v: ec[i] === undefined ? null : ec[i] };
      });
      layers.push(
        new d.ColumnLayer({
          id: "emission-columns",
          data: cols,
          getPosition: function (o) {
            return o.st.p;
          },
          diskResolution: 16,
          radius: 5,
          extruded: true,
          getElevation: function (o) {
            return o.v === null ? 2 : Math.max(2, Math.min(3, o.v) * 60);
          },
          getFillColor: function (o) {
            const ce = c.emission;
            if (o.v === null) {
              return rgba(ce.none, 200);
            }
            return o.v > 1 ? rgba(ce.over, 230) : o.v >= 0.8 ? rgba(ce.near, 230) : rgba(ce.ok, 220);
          },
          updateTriggers: { getElevation: ec, getFillColor: ec },
          pickable: true,
        })
      );
    }
    if (on.has("resources") && s.resources && s.resources.length) {
      layers.push(
        new d.ScatterplotLayer({
          id: "resources",
          data: s.resources,
          getPosition: function (r) {
            return [r.p[0], r.p[1], 1.5];
          },
          getRadius: 7,
          radiusUnits: "pixels",
          getFillColor: rgba(c.resource, 240),
          getLineColor: [13, 17, 23, 255],
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2,
          billboard: true,
          pickable: true,
          parameters: onTop,
        })
      );
    }
    if (on.has("alarms") && live.al && live.al.length) {
      // Alarm markers at their equipment or zone: most urgent priority's color, a white ring while any
      // alarm there is unacknowledged, the number of alarms inside.
      const ac = c.alarm || {};
      const k = this.markerScale();
      const markers = live.al;
      layers.push(
        new d.ScatterplotLayer({
          id: "alarms",
          data: markers,
          getPosition: function (m) {
            return [m[0], m[1], m[2]];
          },
          getRadius: function (m) {
            return (m[3] <= 1 ? 14 : 12) * k;
          },
          radiusUnits: "pixels",
          getFillColor: function (m) {
            return rgba(ac[ALARM_PRIORITIES[m[3]]] || [255, 255, 255], m[5] ? 255 : 170);
          },
          getLineColor: function (m) {
            return m[5] ? [255, 255, 255, 255] : [13, 17, 23, 255];
          },
          stroked: true,
          lineWidthUnits: "pixels",
          getLineWidth: 2.5,
          billboard: true,
          pickable: true,
          parameters: onTop,
        }),
        new d.TextLayer({
          id: "alarm-counts",
          data: markers,
          getPosition: function (m) {
            return [m[0], m[1], m[2]];
          },
          getText: function (m) {
            return m[4] > 99 ? "99+" : String(m[4]);
          },
          getSize: 14 * k,
          sizeUnits: "pixels",
          extensions: labelExtension(),
          getColor: function (m) {
            return m[3] === 1 || m[3] === 2 ? [26, 18, 6, 255] : [255, 255, 255, 255];
          },
          fontFamily: "system-ui, sans-serif",
          fontWeight: 700,
          characterSet: "0123456789+",
          pickable: true,
          parameters: onTop,
        })
      );
    }
    this.videoLayers(on).forEach(function (l) {
      layers.push(l);
    });
    this.current = layers;
    return layers;
  };

  // Labels that would overlap on screen are left out: alarms first, then zone names, then other values.
  Scene.prototype.declutter = function () {
    if (!this.deck) {
      return false;
    }
    const vps = this.deck.getViewports();
    if (!vps || !vps.length) {
      return false;
    }
    const vp = vps[0];
    const s = this.spec;
    const hs = (this.live && this.live.hs) || "";
    const boxes = [];
    const W = vp.width;
    const H = vp.height;
    const k = textScale();
    function place(p, text, dy, px) {
      const q = vp.project(p);
      const w = textWidth(text, px * k) + 8 * k;
      const h = (px + 5) * k;
      const x0 = q[0] - w / 2;
      const y0 = q[1] + dy - h / 2;
      if (x0 < 2 || x0 + w > W - 2 || y0 < 0 || y0 + h > H) {
        return false;
      }
      for (let k = 0; k < boxes.length; k++) {
        const b = boxes[k];
        if (x0 < b[2] && x0 + w > b[0] && y0 < b[3] && y0 + h > b[1]) {
          return false;
        }
      }
      boxes.push([x0, y0, x0 + w, y0 + h]);
      return true;
    }
    const on = new Set(this.layers || []);
    const self = this;
    if (on.has("alarms")) {
      // alarm markers come first: no label covers them
      ((this.live && this.live.al) || []).forEach(function (m) {
        const q = vp.project([m[0], m[1], m[2]]);
        const r = (m[3] <= 1 ? 16 : 14) * self.markerScale();
        boxes.push([q[0] - r, q[1] - r, q[0] + r, q[1] + r]);
      });
    }
    if (on.has("alarms") || on.has("cameras")) {
      // cameras with video alarms and their class labels: no other label covers them
      ((this.live && this.live.vc) || []).forEach(function (v) {
        const cam = s.cameras[v[0]];
        if (!cam) {
          return;
        }
        const q = vp.project(cam.p);
        const r = 22 * self.markerScale();
        boxes.push([q[0] - r, q[1] - r, q[0] + r, q[1] + r]);
        const w = textWidth(self.videoText(v), 12 * k) + 10 * k;
        const y = q[1] - 30 * self.markerScale();
        boxes.push([q[0] - w / 2, y - 10 * k, q[0] + w / 2, y + 10 * k]);
      });
    }
    const shownH = new Set();
    const shownZ = new Set();
    const hz = (this.live && this.live.hz) || [];
    const label = function (i) {
      const h = s.hazards[i];
      return h.n + " " + fmt(hz[i]) + (h.u ? " " + h.u : "");
    };
    const order = s.hazards.map(function (h, i) {
      return i;
    });
    const rank = function (i) {
      const ch = hs[i];
      return ch === "2" ? 2 : ch === "1" ? 1 : 0;
    };
    order.sort(function (a, b) {
      return rank(b) - rank(a) || a - b;
    });
    if (on.has("hazards")) {
      order.forEach(function (i) {
        if (rank(i) > 0 && place(s.hazards[i].p, label(i), -12 * k, 11)) {
          shownH.add(i);
        }
      });
    }
    if (on.has("zones")) {
      s.zones.forEach(function (z, i) {
        if (place([z.c[0], z.c[1], z.h + 2], z.n, 0, 12)) {
          shownZ.add(i);
        }
      });
    }
    if (on.has("hazards")) {
      order.forEach(function (i) {
        if (rank(i) === 0 && place(s.hazards[i].p, label(i), -12 * k, 11)) {
          shownH.add(i);
        }
      });
    }
    const key = Array.from(shownH).join(",") + "|" + Array.from(shownZ).join(",");
    if (key === this.labelKey) {
      return false;
    }
    this.labelKey = key;
    this.shownHazards = shownH;
    this.shownZones = shownZ;
    return true;
  };

  // Alarm markers: as large as labels allow on a wall, smaller in the overview's compact view.
  Scene.prototype.markerScale = function () {
    return textScale() * (this.el.classList.contains("sw-scene-compact") ? 0.7 : 1);
  };

  Scene.prototype.relabel = function () {
    const self = this;
    clearTimeout(this.relabelTimer);
    this.relabelTimer = setTimeout(function () {
      if (self.deck && self.declutter()) {
        self.deck.setProps({ layers: self.buildLayers() });
      }
    }, 150);
  };

  Scene.prototype.priorityIds = function () {
    const ids = ["video-cams", "video-labels", "alarms", "alarm-counts", "sos", "people", "vehicles", "hazards"];
    ids.push("hazard-dots", "cameras", "muster", "permit-points", "permit-labels", "permits");
    this.instances.forEach(function (inst, gi) {
      if (inst.length) {
        ids.push("eq-" + gi);
      }
    });
    return ids;
  };

  // Zones are translucent volumes drawn over what stands in them: prefer anything else under the pointer.
  Scene.prototype.pick = function (info) {
    if (!info || !info.layer) {
      return info;
    }
    const id = info.layer.id;
    if (id === "zones" || id === "zone-labels" || id === "roads" || id === "fences" || id === "energy") {
      const better = this.deck.pickObject({ x: info.x, y: info.y, radius: 4, layerIds: this.priorityIds() });
      if (better && better.layer) {
        return better;
      }
    }
    return info;
  };

  // The energy layer's lines of a zone's tooltip (none while the layer is off or has no data).
  Scene.prototype.energyLines = function (zi) {
    const s = this.spec;
    const tx = s.text;
    const en = (this.live || {}).en;
    if (!en || !new Set(this.layers || []).has("energy") || !en[zi]) {
      return [];
    }
    const r = en[zi];
    const lines = [tx["energy." + r[0]] || ""];
    if (r[1] !== null) {
      const share = r[2] !== null ? " · " + r[2] + " % " + tx["tip.energy_share"] : "";
      lines.push(tx["tip.energy"] + ": " + fmt(r[1]) + " kgce" + share);
    }
    if (r[3] >= 0) {
      lines.push((s.intensities[r[3]] || tx["tip.intensity"]) + ": " + fmt(r[4]) + " " + r[6]);
      lines.push(tx["tip.limit"] + ": " + fmt(r[5]) + " " + r[6]);
    }
    return lines;
  };

  Scene.prototype.describe = function (info) {
    const s = this.spec;
    const tx = s.text;
    const live = this.live || {};
    const id = info.layer.id;
    const o = info.object;
    if (id === "zones" || id === "zone-labels") {
      const zi = s.zones.indexOf(o);
      const lv = this.zoneLevel(zi);
      const hc = live.hc ? live.hc[zi] : 0;
      return {
        lines: [o.n, tx["level." + lv], tx["tip.people"] + ": " + hc].concat(this.energyLines(zi)),
        sel: { type: "zone", id: o.id },
      };
    }
    if (id === "energy") {
      return { lines: [o.z.n].concat(this.energyLines(o.i)), sel: { type: "zone", id: o.z.id } };
    }
    if (id.indexOf("eq-") === 0) {
      const e = s.equipment[o.i];
      const st = this.stateOf(o.i) || "unknown";
      return { lines: [e.n, e.k, tx["tip.state"] + ": " + tx["state." + st]], sel: { type: "equipment", id: e.id } };
    }
    if (id === "people" || id === "vehicles" || id === "sos") {
      const b = s.badges[o[0]];
      const lines = [b.n, b.v ? tx["tip.vehicle"] : tx["role." + b.r]];
      if (o[4]) {
        lines.push(tx["tip.sos"]);
      }
      return { lines: lines, sel: { type: "badge", id: b.id } };
    }
    if (id === "hazards" || id === "hazard-dots") {
      const h = o.h;
      const v = live.hz ? live.hz[o.i] : null;
      const sel = h.eq ? { type: "equipment", id: h.eq } : h.z ? { type: "zone", id: h.z } : null;
      return { lines: [h.tag, tx["tip.value"] + ": " + fmt(v) + (h.u ? " " + h.u : "")], sel: sel };
    }
    if (id === "alarms" || id === "alarm-counts") {
      const place = o[6] === 0 ? s.equipment[o[7]] : s.zones[o[7]];
      if (!place) {
        return null;
      }
      const prio = tx["alarm.priority." + ALARM_PRIORITIES[o[3]]] || "";
      return {
        lines: [place.n, tx["tip.alarms"] + ": " + o[4], prio + (o[5] ? " · " + tx["tip.unacked"] : "")],
        sel: { type: o[6] === 0 ? "equipment" : "zone", id: place.id },
      };
    }
    if (id === "cameras" || id === "video-cams" || id === "video-labels") {
      const ci = id === "cameras" ? s.cameras.indexOf(o) : o[0];
      const cam = s.cameras[ci];
      if (!cam) {
        return null;
      }
      const lines = [cam.n, tx["tip.camera"]];
      const v = this.videoAlarm(ci);
      if (v) {
        const prio = tx["alarm.priority." + ALARM_PRIORITIES[v[1]]] || "";
        lines.push(tx["tip.video_alarm"] + ": " + this.videoText(v), prio + (v[2] ? " · " + tx["tip.unacked"] : ""));
      }
      return { lines: lines, sel: { type: "camera", id: cam.id } };
    }
    if (id === "resources") {
      const due = o.due ? tx["tip.next_inspection"] + ": " + o.due : "";
      return { lines: [o.n, (tx["em.resource." + o.k] || o.k) + " × " + o.c, due], sel: null };
    }
    if (id === "emission-columns") {
      const pct = o.v === null ? tx["tip.no_value"] : Math.round(o.v * 100) + " %";
      return { lines: [o.st.n, tx["tip.emission"] + ": " + pct], sel: { type: "equipment", id: o.st.id } };
    }
    if (id === "permits" || id === "permit-points" || id === "permit-labels") {
      return { lines: o.lines || [], sel: null };
    }
    if (id === "danger") {
      return { lines: [tx["tip.danger"]], sel: null };
    }
    if (id === "routes") {
      return { lines: [tx["tip.route"]], sel: null };
    }
    if (id === "muster") {
      return { lines: [o.n, tx["tip.muster"] + ": " + o.cap], sel: null };
    }
    if (id === "fences") {
      return { lines: [o.n, tx["tip.fence"] + ": " + tx["fence." + o.k]], sel: null };
    }
    if (id === "roads") {
      return { lines: [o.n, tx["tip.road"]], sel: null };
    }
    return null;
  };

  Scene.prototype.hover = function (info) {
    const picked = this.pick(info);
    const what = P.hit(picked) ? this.describe(picked) : null;
    if (what) {
      this.tip.show(what.lines, info.x, info.y);
    } else {
      this.tip.hide();
    }
  };

  Scene.prototype.click = function (info) {
    const picked = this.pick(info);
    const what = P.hit(picked) ? this.describe(picked) : null;
    if (what && what.sel && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(this.spec.ids.selected, {
        data: { type: what.sel.type, id: what.sel.id, n: Date.now() },
      });
    }
  };

  Scene.prototype.finalize = function () {
    window.removeEventListener("resize", this.onResize);
    this.clicks.detach();
    clearInterval(this.pulseTimer);
    this.pulseTimer = null;
    if (this.deck) {
      this.deck.finalize();
      this.deck = null;
    }
  };

  // A live view (img.sw-scene-live) that left the page - panel closed, something else selected, another
  // page - drops its source: a browser may keep an image's stream open after the element is gone.
  const liveImgs = document.getElementsByClassName("sw-scene-live");
  const watched = new Set();
  function stopDetachedStreams() {
    for (let i = 0; i < liveImgs.length; i++) {
      watched.add(liveImgs[i]);
    }
    watched.forEach(function (img) {
      if (!img.isConnected) {
        img.removeAttribute("src");
        watched.delete(img);
      }
    });
  }
  new MutationObserver(function () {
    if (watched.size || liveImgs.length) {
      stopDetachedStreams();
    }
  }).observe(document.documentElement, { childList: true, subtree: true });

  // Other pages draw the same scene with fields of their own (the incident replay, 95_replay.js).
  window.swScene = {
    show: function (el, spec, live, layers) {
      const scene = slot.at(el, function (host) {
        return new Scene(host);
      });
      scene.update(spec, live, layers);
      return scene;
    },
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    swscene: {
      render: function (spec, live, layers, reset) {
        const nu = window.dash_clientside.no_update;
        if (!spec || !spec.ids) {
          return nu;
        }
        const el = document.getElementById(spec.ids.deck);
        if (!el) {
          return nu;
        }
        // one scene per page; a scene whose element left the page (navigation) stops drawing
        const scene = slot.at(el, function (host) {
          return new Scene(host);
        });
        scene.update(spec, live, layers);
        const trig = window.dash_clientside.callback_context.triggered || [];
        if (reset && trig.some(function (t) {
          return t.prop_id.indexOf(".n_clicks") > 0;
        })) {
          scene.reset();
        }
        return nu;
      },
      // The camera panel closed: remove its live image, which ends the stream.
      closeLive: function (isOpen) {
        return isOpen ? window.dash_clientside.no_update : null;
      },
    },
  });
})();
