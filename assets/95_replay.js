/* Incident replay (/replay): one time cursor over the 3D scene, the trends, the alarm journal, the video
 * detections and the muster counts of a window the server sent once (webapp/live/replay.py packs it).
 *
 * Playing, seeking and stepping happen here, without asking the server: the state at the cursor is looked up
 * in lists of changes (a binary search each) and people are placed by interpolating their trips, like the
 * TripsLayer. The scene is the /scene page's own (window.swScene, 30_scene.js) fed with these fields.
 * Plant and journal texts reach the page only through textContent, never as HTML.
 */
(function () {
  "use strict";

  const SPEEDS = [1, 2, 5, 10, 30, 60];
  const SCENE_MS = 100; // the scene is redrawn at most this often while playing
  const TREND_MS = 250; // the trends' cursor line at most this often
  const CURSOR_MS = 1000; // the cursor's moment is told to the server's form at most this often
  const LIST_MAX = 150; // journal rows and detections shown, newest first

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }

  // index of the last entry of list (sorted by key(entry)) whose key is <= s; -1 before the first
  function lastAt(list, s, key) {
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (key(list[mid]) <= s) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
  const first = function (c) {
    return c[0];
  };
  const byS = function (r) {
    return r.s;
  };
  function inForce(list, s) {
    const i = lastAt(list || [], s, first);
    return i >= 0 ? list[i][1] : null;
  }

  function Player(root, data, spec) {
    this.root = root;
    this.data = data;
    this.spec = spec;
    this.tx = data.tx || {};
    this.dur = (data.t1 - data.t0) / 1000;
    this.s = Math.min(Math.max(data.at_s || 0, 0), this.dur);
    this.speed = 10;
    this.playing = false;
    this.raf = null;
    this.stats = { frames: 0, scene: 0, sceneMs: 0, sceneMaxMs: 0, seeks: 0, lag: 0 };
    this.lastScene = 0;
    this.lastTrend = 0;
    this.lastCursor = 0;
    this.shown = { journal: -2, video: -2, muster: null };
    this.fmt = new Intl.DateTimeFormat("sv-SE", {
      timeZone: data.tz,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
    });
    const trips = {};
    (data.trips || []).forEach(function (tr) {
      const sb = (data.sb || [])[tr.b];
      if (sb === undefined || sb < 0) {
        return;
      }
      (trips[sb] = trips[sb] || []).push(tr);
    });
    this.trips = trips;
    this.permits = this.permitShapes(data.permits || []);
    this.build();
    this.setTime(this.s, true);
  }

  Player.prototype.t = function (k) {
    return this.tx[k] || k;
  };

  Player.prototype.local = function (s) {
    return this.fmt.format(new Date(this.data.t0 + s * 1000)).replace("T", " ");
  };

  Player.prototype.build = function () {
    const self = this;
    const bar = document.getElementById(this.data.ids.bar);
    bar.textContent = "";
    const row = el("div", "sw-rp-controls");
    const prev = el("button", "btn btn-sm btn-outline-secondary sw-rp-prev", "‹ " + this.t("prev"));
    const play = el("button", "btn btn-sm btn-primary sw-rp-play", this.t("play"));
    const next = el("button", "btn btn-sm btn-outline-secondary sw-rp-next", this.t("next") + " ›");
    prev.type = play.type = next.type = "button";
    prev.title = this.t("prev_title");
    next.title = this.t("next_title");
    const speed = el("select", "form-select form-select-sm sw-rp-speed");
    speed.setAttribute("aria-label", this.t("speed"));
    SPEEDS.forEach(function (v) {
      const o = el("option", null, v + "×");
      o.value = String(v);
      o.selected = v === self.speed;
      speed.appendChild(o);
    });
    const clock = el("span", "sw-rp-clock");
    clock.setAttribute("role", "timer");
    row.append(prev, play, next, speed, clock);
    const range = el("input", "form-range sw-rp-range");
    range.type = "range";
    range.min = "0";
    range.max = String(this.dur);
    range.step = "0.1";
    range.setAttribute("aria-label", this.t("cursor"));
    const marks = el("div", "sw-rp-marks");
    (this.data.journal || []).forEach(function (r) {
      if (r.kind === "active") {
        const m = el("span", "sw-rp-mark sw-prio-" + r.prio);
        m.style.left = (100 * r.s) / Math.max(1, self.dur) + "%";
        marks.appendChild(m);
      }
    });
    (this.data.video || []).forEach(function (v) {
      const m = el("span", "sw-rp-mark sw-rp-mark-video");
      m.style.left = (100 * v.s) / Math.max(1, self.dur) + "%";
      marks.appendChild(m);
    });
    const track = el("div", "sw-rp-track");
    track.append(marks, range);
    bar.append(row, track);
    play.addEventListener("click", function () {
      if (self.playing) {
        self.pause();
      } else {
        self.play();
      }
    });
    prev.addEventListener("click", function () {
      self.step(-1);
    });
    next.addEventListener("click", function () {
      self.step(1);
    });
    speed.addEventListener("change", function () {
      self.speed = Number(speed.value) || 10;
    });
    range.addEventListener("input", function () {
      self.stats.seeks += 1;
      self.setTime(Number(range.value), true);
    });
    this.ui = { play: play, prev: prev, next: next, speed: speed, range: range, clock: clock };
  };

  // Each permit's place and its tooltip (kind, number, state at the cursor, guardian and crew as the server sent
  // them: names only for readers who may see names), with its states as a change list [s, [code, text]].
  Player.prototype.permitShapes = function (permits) {
    const self = this;
    return permits.map(function (pm) {
      const head = "#" + pm.id + " " + [pm.kind, pm.grade].filter(Boolean).join(" ");
      const base = [head];
      if (pm.title) {
        base.push(pm.title);
      }
      if (pm.zone) {
        base.push(pm.zone);
      }
      const who = [];
      if (pm.guard) {
        who.push(self.t("permit_guardian") + ": " + pm.guard);
      }
      if (pm.crew && pm.crew.length) {
        who.push(self.t("permit_crew") + ": " + pm.crew.join(", "));
      } else if (pm.n_crew) {
        who.push(self.t("permit_crew") + ": " + pm.n_crew);
      }
      return {
        pm: pm,
        st: pm.st.map(function (c) {
          return [c[0], c];
        }),
        base: base,
        who: who,
      };
    });
  };

  // The permits in force at s (active or suspended), as the scene draws them (30_scene.js, layer "permits").
  Player.prototype.permitsAt = function (s) {
    const self = this;
    const out = [];
    this.permits.forEach(function (x) {
      const st = inForce(x.st, s);
      if (!st || (st[1] !== "active" && st[1] !== "suspended")) {
        return;
      }
      out.push({
        n: x.pm.id,
        k: x.pm.k,
        p: x.pm.p,
        a: x.pm.a,
        su: st[1] === "suspended" ? 1 : 0,
        lines: x.base.concat([self.t("permit_state") + ": " + st[2]], x.who),
      });
    });
    return out;
  };

  // The scene's live fields at s: the same shape as the live scene's refreshes (scene/layers.py live_scene).
  Player.prototype.liveAt = function (s) {
    const d = this.data;
    const hz = inForce(d.hz, s) || [[], ""];
    const sos = {};
    (d.viol || []).forEach(function (v) {
      if (v[5] && v[4] >= 0 && v[0] <= s && (v[1] === null || v[1] >= s)) {
        sos[v[4]] = 1;
      }
    });
    const b = [];
    const trips = this.trips;
    Object.keys(trips).forEach(function (k) {
      const list = trips[k];
      for (let j = 0; j < list.length; j++) {
        const tr = list[j];
        const ts = tr.t;
        if (s < ts[0] || s > ts[ts.length - 1]) {
          continue;
        }
        const i = lastAt(ts, s, function (x) {
          return x;
        });
        const p0 = tr.p[i];
        const p1 = tr.p[Math.min(i + 1, ts.length - 1)];
        const span = i + 1 < ts.length ? ts[i + 1] - ts[i] : 0;
        const f = span > 0 ? (s - ts[i]) / span : 0;
        b.push([Number(k), p0[0] + (p1[0] - p0[0]) * f, p0[1] + (p1[1] - p0[1]) * f, 0, sos[k] || 0]);
        break;
      }
    });
    return {
      t: d.t0 + s * 1000,
      eq: inForce(d.eq, s) || "",
      zl: inForce(d.zl, s) || "",
      hc: inForce(d.hc, s) || [],
      hz: hz[0],
      hs: hz[1],
      al: inForce(d.al, s) || [],
      b: b,
      pm: this.permitsAt(s),
    };
  };

  Player.prototype.setTime = function (s, force) {
    const now = performance.now();
    this.s = Math.min(Math.max(s, 0), this.dur);
    this.ui.range.value = String(this.s);
    this.ui.clock.textContent = this.local(this.s) + "  ·  " + this.t("speed") + " " + this.speed + "×";
    this.root.setAttribute("data-cursor-s", this.s.toFixed(1));
    if (force || now - this.lastScene >= SCENE_MS) {
      this.lastScene = now;
      const live = this.liveAt(this.s);
      const el0 = document.getElementById(this.data.ids.deck);
      if (el0 && window.swScene && this.spec) {
        const a = performance.now();
        window.swScene.show(el0, this.spec, live, this.data.layers);
        const ms = performance.now() - a;
        this.stats.scene += 1;
        this.stats.sceneMs += ms;
        this.stats.sceneMaxMs = Math.max(this.stats.sceneMaxMs, ms);
      }
      this.lastLive = live;
    }
    this.renderLists();
    if (force || now - this.lastTrend >= TREND_MS) {
      this.lastTrend = now;
      this.moveTrendCursor();
    }
    if (force || now - this.lastCursor >= CURSOR_MS) {
      this.lastCursor = now;
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(this.data.ids.cursor, { data: Math.round(this.data.t0 + this.s * 1000) });
      }
    }
    this.root.setAttribute("data-journal", String(lastAt(this.data.journal || [], this.s, byS) + 1));
    this.stats.frames += 1;
  };

  Player.prototype.moveTrendCursor = function () {
    const host = document.getElementById(this.data.ids.trends);
    const gd = host && (host.classList.contains("js-plotly-plot") ? host : host.querySelector(".js-plotly-plot"));
    if (!gd || !window.Plotly || !gd.layout || !gd.layout.shapes || !gd.layout.shapes.length) {
      return;
    }
    const x = this.local(this.s);
    window.Plotly.relayout(gd, { "shapes[0].x0": x, "shapes[0].x1": x });
  };

  Player.prototype.renderLists = function () {
    const d = this.data;
    const s = this.s;
    const self = this;
    const nj = lastAt(d.journal || [], s, byS);
    if (nj !== this.shown.journal) {
      this.shown.journal = nj;
      const box = document.getElementById(d.ids.journal);
      if (box) {
        box.textContent = "";
        if (nj < 0) {
          box.appendChild(el("div", "sw-muted", this.t("journal_empty")));
        }
        for (let i = nj; i >= 0 && i > nj - LIST_MAX; i--) {
          const r = d.journal[i];
          const row = el("div", "sw-rp-row sw-prio-" + r.prio + (s - r.s < 15 ? " sw-rp-new" : ""));
          row.setAttribute("data-id", String(r.id));
          row.append(
            el("span", "sw-rp-time", this.local(r.s).slice(11)),
            el("span", "sw-rp-kind", r.k),
            el("span", "sw-rp-prio", r.p),
            el("span", "sw-rp-src", r.src),
            el("span", "sw-rp-text", r.text || r.cond),
          );
          if (r.value) {
            row.appendChild(el("span", "sw-rp-val", r.value));
          }
          if (r.user) {
            row.appendChild(el("span", "sw-rp-user", r.user));
          }
          if (r.comment) {
            row.appendChild(el("span", "sw-rp-comment", r.comment));
          }
          box.appendChild(row);
        }
      }
    }
    const nv = lastAt(d.video || [], s, byS);
    if (nv !== this.shown.video) {
      this.shown.video = nv;
      const box = document.getElementById(d.ids.video);
      if (box) {
        box.textContent = "";
        if (nv < 0) {
          const why = !d.video_ok ? "video_hidden" : (d.video || []).length ? "video_later" : "video_none";
          box.appendChild(el("div", "sw-muted", this.t(why)));
        }
        for (let i = nv; i >= 0 && i > nv - LIST_MAX; i--) {
          const v = d.video[i];
          const card = el("div", "sw-rp-det" + (s - v.s < 15 ? " sw-rp-new" : ""));
          if (v.thumb) {
            const img = el("img", "sw-rp-thumb");
            img.alt = "";
            img.loading = "lazy";
            img.src = v.thumb;
            if (v.snap) {
              // the full snapshot (box drawn) in a tab of its own
              const a = el("a", "sw-rp-snap");
              a.href = v.snap;
              a.target = "_blank";
              a.rel = "noopener";
              a.title = this.t("snapshot");
              a.appendChild(img);
              card.appendChild(a);
            } else {
              card.appendChild(img);
            }
          }
          const info = el("div", "sw-rp-detinfo");
          info.append(
            el("div", "sw-rp-time", this.local(v.s).slice(11) + " · " + v.cls + (v.conf !== null ? " " + Math.round(v.conf * 100) + "%" : "")),
            el("div", "sw-muted", v.cam + (v.zone ? " · " + v.zone : "")),
          );
          if (v.clip) {
            const a = el("a", "sw-rp-clip", this.t("clip"));
            a.href = v.clip;
            a.target = "_blank";
            a.rel = "noopener";
            info.appendChild(a);
          }
          card.appendChild(info);
          box.appendChild(card);
        }
      }
    }
    const parts = [];
    const ems = [];
    const pms = [];
    (d.permits || []).forEach(function (pm) {
      const st = inForce(pm.st.map(function (c) {
        return [c[0], c];
      }), s);
      if (st && st[1] !== "closed" && st[1] !== "expired") {
        pms.push([pm, st]);
      }
    });
    (d.emergency || []).forEach(function (e) {
      if (e.s0 <= s) {
        ems.push([e, e.s1 !== null && e.s1 <= s]);
      }
    });
    (d.muster || []).forEach(function (m) {
      if (m.s0 > s) {
        return;
      }
      const arrived = lastAt(m.arr, s, function (x) {
        return x;
      }) + 1;
      parts.push([m, arrived]);
    });
    const key =
      parts
        .map(function (p) {
          return p[0].id + ":" + p[1];
        })
        .join(",") +
      "|" +
      pms
        .map(function (p) {
          return p[0].id + ":" + p[1][1];
        })
        .join(",") +
      "|" +
      ems
        .map(function (e) {
          return e[0].id + ":" + e[1];
        })
        .join(",");
    if (key !== this.shown.muster) {
      this.shown.muster = key;
      const box = document.getElementById(d.ids.muster);
      if (box) {
        box.textContent = "";
        pms.forEach(function (pm) {
          const line = el("div", "sw-rp-permit is-" + pm[1][1]);
          line.append(
            el("span", "sw-rp-kind", pm[0].kind),
            el("span", null, " " + [pm[0].title, pm[0].zone, pm[1][2]].filter(Boolean).join(" · ")),
          );
          box.appendChild(line);
        });
        ems.forEach(function (e) {
          const em = e[0];
          const line = el("div", "sw-rp-emergency" + (e[1] ? " is-ended" : ""));
          line.append(
            el("span", "sw-rp-kind", e[1] ? self.t("emergency_ended") : self.t("emergency")),
            el("span", null, " " + em.plan + " · " + em.zone + " · " + self.local(em.s0).slice(11)),
          );
          box.appendChild(line);
        });
        if (!parts.length) {
          box.appendChild(el("div", "sw-muted", this.t("muster_none")));
        }
        parts.forEach(function (p) {
          const m = p[0];
          const line = el("div", "sw-rp-mline");
          line.append(
            el("span", "sw-rp-mfig", self.t("muster_roll") + " " + m.roll),
            el("span", "sw-rp-mfig sw-rp-ok", self.t("muster_arrived") + " " + p[1]),
            el("span", "sw-rp-mfig sw-rp-bad", self.t("muster_missing") + " " + Math.max(0, m.roll - p[1])),
          );
          box.appendChild(line);
        });
      }
    }
  };

  Player.prototype.play = function () {
    if (this.playing) {
      return;
    }
    if (this.s >= this.dur) {
      this.s = 0;
    }
    this.playing = true;
    this.ui.play.textContent = this.t("pause");
    this.root.setAttribute("data-playing", "1");
    const self = this;
    // the cursor follows the clock (start + elapsed x speed): a slow frame skips ahead, it never falls behind
    let fromS = this.s;
    let fromWall = performance.now();
    let speed = this.speed;
    let last = fromWall;
    const frame = function (now) {
      if (!self.playing) {
        return;
      }
      if (self.speed !== speed) {
        fromS = self.s;
        fromWall = now;
        speed = self.speed;
      }
      self.stats.lag = Math.max(self.stats.lag, (now - last) / 1000);
      self.stats.playFrames = (self.stats.playFrames || 0) + 1;
      last = now;
      const t = fromS + ((now - fromWall) / 1000) * speed;
      if (t >= self.dur) {
        self.setTime(self.dur, true);
        self.pause();
        return;
      }
      self.setTime(t, false);
      self.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
  };

  Player.prototype.pause = function () {
    this.playing = false;
    if (this.raf) {
      cancelAnimationFrame(this.raf);
    }
    this.raf = null;
    this.ui.play.textContent = this.t("play");
    this.root.setAttribute("data-playing", "0");
    this.setTime(this.s, true);
  };

  // To the next (dir 1) or previous (dir -1) alarm or event.
  Player.prototype.step = function (dir) {
    const ev = this.data.events || [];
    let target = null;
    if (dir > 0) {
      for (let i = 0; i < ev.length; i++) {
        if (ev[i] > this.s + 0.05) {
          target = ev[i];
          break;
        }
      }
    } else {
      for (let i = ev.length - 1; i >= 0; i--) {
        if (ev[i] < this.s - 0.05) {
          target = ev[i];
          break;
        }
      }
    }
    if (target !== null) {
      this.setTime(target, true);
    }
  };

  Player.prototype.dispose = function () {
    this.playing = false;
    if (this.raf) {
      cancelAnimationFrame(this.raf);
    }
  };

  window.swReplay = { player: null };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    swreplay: {
      load: function (data, spec) {
        const nu = window.dash_clientside.no_update;
        if (window.swReplay.player) {
          window.swReplay.player.dispose();
          window.swReplay.player = null;
        }
        if (!data || !data.ids) {
          return nu;
        }
        const root = document.getElementById(data.ids.bar);
        if (!root) {
          return nu;
        }
        window.swReplay.player = new Player(root.closest(".sw-rp") || root, data, spec);
        return nu;
      },
    },
  });
})();
