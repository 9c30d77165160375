/* The plant in deck.gl, shared by every page that draws it (the 3D scene 30_scene.js, the personnel map
 * 60_personnel.js, and the pages to come): one global, window.swPlant.
 *
 * Its input is the static plant spec the server sends once with a page (scene.layers.static_scene: site,
 * zones, roads, fences, muster points, equipment and mesh groups, colors, deck_url, mesh_url). Everything
 * is in plant metres (x east, y north, z up); no map tiles, no internet.
 *
 * Loading
 *   loadDeck(url)                  the deck.gl bundle the server ships, once per page -> Promise(window.deck)
 *   loadMeshes(spec)               the plant's equipment meshes (one binary file, typed arrays) -> Promise(list)
 *   load(spec, meshesOptional)     both in turn -> Promise(meshes; null when optional and missing)
 *   showError(host, cls, e)        a failure to start, written on the canvas as text
 * Views and deck
 *   orbitView() / topView()        the 3D view (id "orbit", Z up) and the top view (id "top")
 *   homeOrbit(spec, host, zTop)    opening 3D view state: whole site (up to height zTop) fills the canvas
 *   homeTop(spec, host)            opening top view state
 *   lighting(ambient, sun, fill)   the plant's lighting effect (intensities; no fill light when 0 or absent)
 *   createDeck(host, props)        a Deck in host: controller, cursor, device pixels, data-ready="1" on load
 * Layers from the spec (ids as the pages and tests know them)
 *   groundLayer(spec), gridLayer(spec)          site slab and 100 m grid ("ground", "grid")
 *   roadsLayer(spec, props)                     "roads"
 *   zonesLayer(spec, opts)                      "zones": risk volumes or flat outlines, colored by level
 *   floorsLayer(spec)                           "zone-floors": the floor slabs of buildings with several floors
 *   zoneLabelsLayer(spec, zones)                "zone-labels": zone names, one size on screen
 *   fencesLayer(spec, alpha, props)             "fences"
 *   musterLayer(spec, fillAlpha)                "muster"
 *   instances(spec), equipmentLayers(spec, meshes, instances, props)   "eq-<group>" mesh layers
 * Colors, text, numbers
 *   LEVELS, zoneLevel(spec, live, i), levelColor(spec, level), roleColor(spec, role), rgba(c, a)
 *   fmt(v), textScale(), textWidth(text, px), labelExtension()
 *   ON_TOP, NO_DEPTH_WRITE           layer parameters: drawn over everything / translucent volumes
 * Page plumbing
 *   hit(info)                        whether a pick found an object
 *   new Tip(host, cls, reserve)      the hover tooltip (text only: plant strings never become HTML)
 *   new Clicks(host, owner, radius)  owner.click(info) from the browser's click event on owner.deck (not for a
 *                                    drag or the overlays); .tap(info, event) from deck's onClick for the rest
 *   new Slot()                       the one renderer of a page; finalized when its element leaves the page
 *
 * Layer functions take deck.gl props to override where the pages differ; they never keep state, so a page
 * that caches data (instances, labels shown) passes it in.
 */
(function () {
  "use strict";

  // --- loading ------------------------------------------------------------------------------------

  const loaded = { deck: null, meshes: {} };

  function loadDeck(url) {
    if (window.deck && window.deck.Deck) {
      return Promise.resolve(window.deck);
    }
    if (!loaded.deck) {
      loaded.deck = new Promise(function (resolve, reject) {
        const s = document.createElement("script");
        s.src = url;
        s.async = true;
        s.onload = function () {
          resolve(window.deck);
        };
        s.onerror = function () {
          loaded.deck = null;
          reject(new Error("the deck.gl bundle did not load"));
        };
        document.head.appendChild(s);
      });
    }
    return loaded.deck;
  }

  // deck.gl's SimpleMeshLayer wants typed arrays: each group is positions, normals, colors (float32 x3)
  // and indices (uint32) at its offset in one binary file.
  function loadMeshes(spec) {
    const url = spec.mesh_url;
    if (!loaded.meshes[url]) {
      loaded.meshes[url] = fetch(url)
        .then(function (r) {
          if (!r.ok) {
            throw new Error("meshes: HTTP " + r.status);
          }
          return r.arrayBuffer();
        })
        .then(function (buf) {
          return spec.groups.map(function (g) {
            let off = g.offset;
            const n = g.vertices * 3;
            const positions = new Float32Array(buf, off, n);
            off += n * 4;
            const normals = new Float32Array(buf, off, n);
            off += n * 4;
            const colors = new Float32Array(buf, off, n);
            off += n * 4;
            const indices = new Uint32Array(buf, off, g.indices);
            return {
              attributes: {
                positions: { value: positions, size: 3 },
                normals: { value: normals, size: 3 },
                colors: { value: colors, size: 3 },
              },
              indices: { value: indices, size: 1 },
            };
          });
        })
        .catch(function (e) {
          delete loaded.meshes[url];
          throw e;
        });
    }
    return loaded.meshes[url];
  }

  function load(spec, meshesOptional) {
    return loadDeck(spec.deck_url).then(function () {
      const meshes = loadMeshes(spec);
      return meshesOptional
        ? meshes.catch(function () {
            return null; // a map works without equipment meshes
          })
        : meshes;
    });
  }

  function showError(host, cls, e) {
    const msg = document.createElement("div");
    msg.className = cls;
    msg.textContent = String(e && e.message ? e.message : e);
    host.appendChild(msg);
  }

  // --- views and deck -----------------------------------------------------------------------------

  function orbitView() {
    return new window.deck.OrbitView({ id: "orbit", orbitAxis: "Z", fovy: 40, near: 0.5, far: 20000 });
  }

  function topView() {
    return new window.deck.OrthographicView({ id: "top", flipY: false, near: -5000, far: 5000 });
  }

  function size(host) {
    return [Math.max(200, host.clientWidth), Math.max(200, host.clientHeight)];
  }

  // From the south-east (from the east-south-east on portrait screens, so the long side of the site runs
  // up the screen), zoomed so the whole site, up to zTop metres, fills the canvas.
  function homeOrbit(spec, host, zTop) {
    const w = spec.site[0];
    const d = spec.site[1];
    const sz = size(host);
    const pw = sz[0];
    const ph = sz[1];
    const portrait = ph > pw * 1.2;
    const vs = {
      target: [w / 2, d / 2, 0],
      rotationOrbit: portrait ? -78 : -35,
      rotationX: portrait ? 45 : 42,
      zoom: 0,
    };
    const view = new window.deck.OrbitView({ orbitAxis: "Z", fovy: 40 });
    const zs = zTop ? [0, zTop] : [0];
    let zoom = 0;
    for (let pass = 0; pass < 2; pass++) {
      const vp = view.makeViewport({ width: pw, height: ph, viewState: Object.assign({}, vs, { zoom: zoom }) });
      let x0 = Infinity;
      let x1 = -Infinity;
      let y0 = Infinity;
      let y1 = -Infinity;
      [0, w].forEach(function (x) {
        [0, d].forEach(function (y) {
          zs.forEach(function (z) {
            const q = vp.project([x, y, z]);
            x0 = Math.min(x0, q[0]);
            x1 = Math.max(x1, q[0]);
            y0 = Math.min(y0, q[1]);
            y1 = Math.max(y1, q[1]);
          });
        });
      });
      zoom += Math.log2(Math.min((pw * 0.96) / (x1 - x0), (ph * 0.9) / (y1 - y0)));
    }
    return Object.assign(vs, {
      zoom: zoom,
      minZoom: zoom - 2,
      maxZoom: zoom + 7,
      minRotationX: 5,
      maxRotationX: 89,
    });
  }

  function homeTop(spec, host) {
    const w = spec.site[0];
    const d = spec.site[1];
    const sz = size(host);
    const zoom = Math.log2(Math.min((sz[0] * 0.96) / w, (sz[1] * 0.94) / d));
    return { target: [w / 2, d / 2, 0], zoom: zoom, minZoom: zoom - 1, maxZoom: zoom + 7 };
  }

  function lighting(ambient, sun, fill) {
    const d = window.deck;
    const lights = {
      ambient: new d.AmbientLight({ color: [255, 255, 255], intensity: ambient }),
      sun: new d.DirectionalLight({ color: [255, 250, 240], intensity: sun, direction: [-0.5, 0.35, -1] }),
    };
    if (fill) {
      lights.fill = new d.DirectionalLight({ color: [200, 215, 255], intensity: fill, direction: [0.6, -0.8, -0.3] });
    }
    return new d.LightingEffect(lights);
  }

  // props: views, initialViewState, layers, effects, pickingRadius, the page's handlers (onLoad runs after
  // the host is marked ready).
  function createDeck(host, props) {
    const onLoad = props.onLoad;
    return new window.deck.Deck(
      Object.assign(
        {
          parent: host,
          controller: { inertia: true },
          useDevicePixels: Math.min(window.devicePixelRatio || 1, 2),
          getCursor: function (s) {
            return s.isDragging ? "grabbing" : s.isHovering ? "pointer" : "grab";
          },
        },
        props,
        {
          onLoad: function () {
            host.setAttribute("data-ready", "1");
            if (onLoad) {
              onLoad();
            }
          },
        }
      )
    );
  }

  // --- colors, text, numbers ----------------------------------------------------------------------

  const LEVELS = { r: "red", o: "orange", y: "yellow", b: "blue" };
  const ON_TOP = { depthCompare: "always", depthWriteEnabled: false };
  const NO_DEPTH_WRITE = { depthWriteEnabled: false };

  function rgba(c, a) {
    return [c[0], c[1], c[2], a];
  }

  // Zone i's level now: the live one (live.zl, one code per zone) when there is one, else the spec's.
  function zoneLevel(spec, live, i) {
    const zl = live && live.zl;
    const code = zl && zl.length > i ? zl[i] : spec.zones[i].s;
    return LEVELS[code] || "blue";
  }

  function levelColor(spec, level) {
    return spec.colors.risk[level] || spec.colors.risk.blue;
  }

  function roleColor(spec, role) {
    return spec.colors.role[role] || [255, 255, 255];
  }

  function fmt(v) {
    if (v === null || v === undefined) {
      return "-";
    }
    const a = Math.abs(v);
    if (a >= 1e5) {
      return Math.round(v).toLocaleString();
    }
    return String(Number(v.toPrecision(4)));
  }

  // Labels grow with the screen on walls wider than 1920 px (up to twice the size).
  function textScale() {
    return Math.min(2, Math.max(1, window.innerWidth / 1920));
  }

  // A label's width in pixels at font size px, near enough to keep labels from overlapping.
  function textWidth(text, px) {
    let w = 0;
    for (let k = 0; k < text.length; k++) {
      w += text.charCodeAt(k) > 0x2e80 ? px : px * 0.62;
    }
    return w;
  }

  // Billboard text in a perspective view shrinks with distance; this keeps labels one size on screen.
  let constantSize = null;
  function labelExtension() {
    if (!constantSize) {
      class ConstantSizeExtension extends window.deck.LayerExtension {
        getShaders() {
          return { inject: { "vs:DECKGL_FILTER_SIZE": "size.xy *= gl_Position.w / project.focalDistance;" } };
        }
      }
      ConstantSizeExtension.extensionName = "ConstantSizeExtension";
      constantSize = new ConstantSizeExtension();
    }
    return [constantSize];
  }

  // --- layers from the spec -----------------------------------------------------------------------

  function groundLayer(spec) {
    const w = spec.site[0];
    const d = spec.site[1];
    return new window.deck.SolidPolygonLayer({
      id: "ground",
      data: [[[0, 0, -0.3], [w, 0, -0.3], [w, d, -0.3], [0, d, -0.3]]],
      getPolygon: function (p) {
        return p;
      },
      getFillColor: spec.colors.ground,
      material: false,
    });
  }

  // The grid's lines are kept per site size, so a redraw hands deck.gl the same data.
  const grids = {};
  function gridLayer(spec) {
    const w = spec.site[0];
    const d = spec.site[1];
    const key = w + "x" + d;
    if (!grids[key]) {
      const grid = [];
      for (let x = 0; x <= w + 0.1; x += 100) {
        grid.push([[x, 0, -0.2], [x, d, -0.2]]);
      }
      for (let y = 0; y <= d + 0.1; y += 100) {
        grid.push([[0, y, -0.2], [w, y, -0.2]]);
      }
      grids[key] = grid;
    }
    return new window.deck.PathLayer({
      id: "grid",
      data: grids[key],
      getPath: function (p) {
        return p;
      },
      getColor: [255, 255, 255, 16],
      getWidth: 1,
      widthUnits: "pixels",
    });
  }

  const floorPaths = new WeakMap();

  function floorsLayer(spec) {
    // one closed outline per upper floor of each zone that has several (zone.f floors over zone.h metres)
    let paths = floorPaths.get(spec);
    if (!paths) {
      paths = [];
      spec.zones.forEach(function (z) {
        const floors = z.f || 1;
        for (let k = 1; k < floors; k++) {
          const h = (z.h * k) / floors;
          const ring = z.poly.map(function (p) {
            return [p[0], p[1], h];
          });
          ring.push(ring[0]);
          paths.push(ring);
        }
      });
      floorPaths.set(spec, paths);
    }
    return new window.deck.PathLayer({
      id: "zone-floors",
      data: paths,
      getPath: function (p) {
        return p;
      },
      getColor: [226, 232, 240, 150],
      getWidth: 1.5,
      widthUnits: "pixels",
    });
  }

  function roadsLayer(spec, props) {
    return new window.deck.PathLayer(
      Object.assign(
        {
          id: "roads",
          data: spec.roads,
          getPath: function (r) {
            return r.path;
          },
          getWidth: function (r) {
            return r.w;
          },
          widthUnits: "common",
          widthMinPixels: 1,
          getColor: spec.colors.road,
          capRounded: true,
          jointRounded: true,
        },
        props
      )
    );
  }

  // opts: level(i) -> level name (default: the spec's static level), fill and line alphas, extruded
  // (default true: volumes with a wireframe; false: flat), key (what level() depends on, an update
  // trigger), props (further deck.gl props).
  function zonesLayer(spec, opts) {
    const o = opts || {};
    const level =
      o.level ||
      function (i) {
        return zoneLevel(spec, null, i);
      };
    const extruded = o.extruded !== false;
    return new window.deck.PolygonLayer(
      Object.assign(
        {
          id: "zones",
          data: spec.zones,
          getPolygon: function (z) {
            return z.poly;
          },
          extruded: extruded,
          wireframe: extruded,
          getElevation: function (z) {
            return z.h;
          },
          getFillColor: function (z, info) {
            return rgba(levelColor(spec, level(info.index)), o.fill);
          },
          getLineColor: function (z, info) {
            return rgba(levelColor(spec, level(info.index)), o.line);
          },
          updateTriggers: { getFillColor: o.key, getLineColor: o.key },
          material: false,
          pickable: true,
          parameters: NO_DEPTH_WRITE,
        },
        o.props
      )
    );
  }

  // Zone names above their zones (zones: the ones with room for a label; default all).
  function zoneLabelsLayer(spec, zones) {
    return new window.deck.TextLayer({
      id: "zone-labels",
      data: zones || spec.zones,
      getPosition: function (z) {
        return [z.c[0], z.c[1], z.h + 2];
      },
      getText: function (z) {
        return z.n;
      },
      getSize: 12 * textScale(),
      sizeUnits: "pixels",
      extensions: labelExtension(),
      getColor: [230, 237, 243, 230],
      characterSet: "auto",
      fontFamily: "system-ui, 'Noto Sans CJK SC', sans-serif",
      background: true,
      getBackgroundColor: [13, 17, 23, 170],
      backgroundPadding: [3, 1],
      parameters: ON_TOP,
    });
  }

  function fencesLayer(spec, alpha, props) {
    const c = spec.colors;
    return new window.deck.PathLayer(
      Object.assign(
        {
          id: "fences",
          data: spec.fences,
          getPath: function (f) {
            return f.path;
          },
          getColor: function (f) {
            return rgba(c.fence[f.k] || [255, 255, 255], alpha);
          },
          getWidth: 1,
          widthUnits: "common",
          widthMinPixels: 1.5,
        },
        props
      )
    );
  }

  function musterLayer(spec, fillAlpha) {
    const c = spec.colors;
    return new window.deck.ScatterplotLayer({
      id: "muster",
      data: spec.muster,
      getPosition: function (m) {
        return [m.p[0], m.p[1], 0.1];
      },
      getRadius: function (m) {
        return m.r;
      },
      radiusUnits: "common",
      radiusMinPixels: 5,
      getFillColor: rgba(c.muster, fillAlpha),
      getLineColor: rgba(c.muster, 240),
      stroked: true,
      lineWidthUnits: "pixels",
      getLineWidth: 2,
      pickable: true,
    });
  }

  // Instance lists per mesh group: {i: equipment index (for colors and picking), p: position}.
  function instances(spec) {
    const groups = spec.groups.map(function () {
      return [];
    });
    spec.equipment.forEach(function (e, i) {
      groups[e.g].push({ i: i, p: e.p });
    });
    return groups;
  }

  // One SimpleMeshLayer per mesh group with instances; props: color, material, opacity, picking.
  function equipmentLayers(spec, meshes, inst, props) {
    const out = [];
    inst.forEach(function (list, gi) {
      if (!list.length) {
        return;
      }
      out.push(
        new window.deck.SimpleMeshLayer(
          Object.assign(
            {
              id: "eq-" + gi,
              data: list,
              mesh: meshes[gi],
              getPosition: function (e) {
                return e.p;
              },
            },
            props
          )
        )
      );
    });
    return out;
  }

  // --- page plumbing ------------------------------------------------------------------------------

  function hit(info) {
    return Boolean(info && info.layer && info.object !== undefined && info.object !== null);
  }

  // The hover tooltip in host, kept reserve pixels from its right edge.
  function Tip(host, cls, reserve) {
    this.host = host;
    this.reserve = reserve;
    this.el = document.createElement("div");
    this.el.className = cls;
    this.el.hidden = true;
    host.appendChild(this.el);
  }

  Tip.prototype.show = function (lines, x, y) {
    this.el.textContent = lines.filter(Boolean).join("\n");
    this.el.style.left = Math.min(x + 14, this.host.clientWidth - this.reserve) + "px";
    this.el.style.top = y + 14 + "px";
    this.el.hidden = false;
  };

  Tip.prototype.hide = function () {
    this.el.hidden = true;
  };

  // Clicks on owner.deck in host, taken from the browser's own click event: deck.gl's tap measures the press
  // when it gets to handle it, so on a busy machine (a long frame between press and release, over 250 ms) a
  // click became no click. A click whose press moved more than 6 px (a drag of the view), or that landed on
  // anything but the canvas (the overlay's buttons, the panel), selects nothing; one that did not picks what is
  // under the pointer (within radius px) and calls owner.click(info). deck.gl's own tap, passed to tap(info,
  // event) from the deck's onClick, only acts for a release the browser reported no click for.
  function Clicks(host, owner, radius) {
    this.host = host;
    this.owner = owner;
    this.radius = radius;
    this.down = null;
    this.lastUp = null;
    this.handledUp = null;
    this.onDown = this.pressed.bind(this);
    this.onUp = this.released.bind(this);
    this.onClick = this.clicked.bind(this);
    host.addEventListener("pointerdown", this.onDown, true);
    host.addEventListener("pointerup", this.onUp, true);
    host.addEventListener("click", this.onClick, true);
  }

  Clicks.prototype.pressed = function (e) {
    this.down = e.isPrimary === false ? this.down : [e.clientX, e.clientY];
  };

  Clicks.prototype.released = function (e) {
    this.lastUp = e;
  };

  Clicks.prototype.clicked = function (e) {
    const down = this.down;
    this.down = null;
    const deck = this.owner.deck;
    if (!deck || !down || !e.target || e.target.tagName !== "CANVAS") {
      return;
    }
    const dx = e.clientX - down[0];
    const dy = e.clientY - down[1];
    if (dx * dx + dy * dy > 36) {
      return;
    }
    this.handledUp = this.lastUp;
    const r = this.host.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const info = deck.pickObject({ x: x, y: y, radius: this.radius });
    this.owner.click(info || { x: x, y: y, layer: null, object: null });
  };

  // deck.gl's onClick(info, event): a click the browser reported is answered already; its tap only for the rest.
  Clicks.prototype.tap = function (info, event) {
    const up = event && event.srcEvent;
    const done = this.handledUp;
    if (up && done && (up === done || up.timeStamp === done.timeStamp)) {
      return;
    }
    this.owner.click(info);
  };

  Clicks.prototype.detach = function () {
    this.host.removeEventListener("pointerdown", this.onDown, true);
    this.host.removeEventListener("pointerup", this.onUp, true);
    this.host.removeEventListener("click", this.onClick, true);
  };

  // A page's one renderer: at(el, make) returns the renderer drawing into el, made by make(el) the first
  // time and after navigation (the old one finalized); a renderer whose element left the page stops.
  function Slot() {
    this.el = null;
    this.obj = null;
    const self = this;
    setInterval(function () {
      if (self.obj && !self.el.isConnected) {
        self.clear();
      }
    }, 2000);
  }

  Slot.prototype.at = function (el, make) {
    if (this.obj && this.el !== el) {
      this.clear();
    }
    if (!this.obj) {
      this.obj = make(el);
      this.el = el;
    }
    return this.obj;
  };

  Slot.prototype.clear = function () {
    this.obj.finalize();
    this.obj = null;
    this.el = null;
  };

  window.swPlant = {
    loadDeck: loadDeck,
    loadMeshes: loadMeshes,
    load: load,
    showError: showError,
    orbitView: orbitView,
    topView: topView,
    homeOrbit: homeOrbit,
    homeTop: homeTop,
    lighting: lighting,
    createDeck: createDeck,
    groundLayer: groundLayer,
    gridLayer: gridLayer,
    roadsLayer: roadsLayer,
    zonesLayer: zonesLayer,
    floorsLayer: floorsLayer,
    zoneLabelsLayer: zoneLabelsLayer,
    fencesLayer: fencesLayer,
    musterLayer: musterLayer,
    instances: instances,
    equipmentLayers: equipmentLayers,
    LEVELS: LEVELS,
    ON_TOP: ON_TOP,
    NO_DEPTH_WRITE: NO_DEPTH_WRITE,
    rgba: rgba,
    zoneLevel: zoneLevel,
    levelColor: levelColor,
    roleColor: roleColor,
    fmt: fmt,
    textScale: textScale,
    textWidth: textWidth,
    labelExtension: labelExtension,
    hit: hit,
    Tip: Tip,
    Clicks: Clicks,
    Slot: Slot,
  };
})();
