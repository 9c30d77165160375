/* Alarm banner sound: a tone that repeats while an urgent or high-priority alarm is unacknowledged.
 *
 * Browsers start audio only after a user gesture (autoplay rules). The banner's "sound" button is that
 * gesture: it switches the sound on (an AudioContext is created and resumed inside the click) and the
 * choice is remembered in localStorage. A screen reloaded with the sound on waits for the next click or
 * key press anywhere on the page to resume its audio; the button says so meanwhile. Nothing plays before.
 *
 * The tone comes from the banner's data (webapp/shell/banner_callbacks.py): "urgent" (a fast two-tone, every 2.5 s),
 * "high" (one lower beep, every 6 s) or none. window.swAlarmSound.status() reports the state for tests.
 */
(function () {
  "use strict";

  var KEY = "sw-alarm-sound";
  var PERIOD_MS = { urgent: 2500, high: 6000 };
  var s = { wanted: false, ctx: null, tone: null, last: 0, plays: 0, lastTone: null };

  try {
    s.wanted = window.localStorage.getItem(KEY) === "on";
  } catch (e) {
    s.wanted = false; // storage blocked: the sound starts off every visit
  }

  function save() {
    try {
      window.localStorage.setItem(KEY, s.wanted ? "on" : "off");
    } catch (e) {
      /* not remembered, still works for this page */
    }
  }

  function context() {
    if (!s.ctx) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) {
        return null;
      }
      s.ctx = new Ctx();
      s.ctx.onstatechange = render;
    }
    return s.ctx;
  }

  function running() {
    return !!(s.ctx && s.ctx.state === "running");
  }

  function beep(freq, at, dur, vol) {
    var c = s.ctx;
    var osc = c.createOscillator();
    var gain = c.createGain();
    osc.type = "square";
    osc.frequency.setValueAtTime(freq, at);
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(vol, at + 0.015);
    gain.gain.setValueAtTime(vol, at + dur - 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + dur);
    osc.connect(gain);
    gain.connect(c.destination);
    osc.start(at);
    osc.stop(at + dur + 0.02);
  }

  function play(tone) {
    var t0 = s.ctx.currentTime + 0.02;
    if (tone === "urgent") {
      for (var k = 0; k < 4; k++) {
        beep(k % 2 ? 660 : 880, t0 + k * 0.2, 0.16, 0.18);
      }
    } else {
      beep(587, t0, 0.3, 0.14);
    }
    s.plays += 1;
    s.last = Date.now();
    s.lastTone = tone;
  }

  function tick() {
    if (s.wanted && s.tone && PERIOD_MS[s.tone] && running() && Date.now() - s.last >= PERIOD_MS[s.tone]) {
      play(s.tone);
    }
  }

  // Inside a user gesture: create or resume the audio so that later tones may play.
  function unlock() {
    if (!s.wanted) {
      return;
    }
    var c = context();
    if (c && c.state !== "running") {
      c.resume().then(render, render);
    }
    render();
  }

  function render() {
    var mode = !s.wanted ? "off" : running() ? "on" : "wait";
    var buttons = document.querySelectorAll(".sw-ab-sound");
    for (var i = 0; i < buttons.length; i++) {
      var b = buttons[i];
      var text = b.getAttribute("data-" + mode) || mode;
      if (b.textContent !== text) {
        b.textContent = text;
      }
      b.setAttribute("aria-pressed", s.wanted ? "true" : "false");
      b.classList.toggle("sw-ab-sound-on", mode === "on");
      b.classList.toggle("sw-ab-sound-wait", mode === "wait");
    }
  }

  document.addEventListener(
    "click",
    function (ev) {
      var btn = ev.target && ev.target.closest ? ev.target.closest(".sw-ab-sound") : null;
      if (!btn) {
        return;
      }
      s.wanted = !s.wanted;
      save();
      if (s.wanted) {
        s.last = 0; // sound the current tone at once, so the user hears what it is
        unlock();
      }
      render();
    },
    true
  );
  ["pointerdown", "keydown", "touchend"].forEach(function (name) {
    document.addEventListener(name, unlock, { capture: true, passive: true });
  });
  setInterval(tick, 250);

  window.swAlarmSound = {
    status: function () {
      return {
        wanted: s.wanted,
        audio: s.ctx ? s.ctx.state : "none",
        tone: s.tone,
        plays: s.plays,
        lastTone: s.lastTone,
      };
    },
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    swAlarms: {
      // The KPI charts' scale: the root font size (larger on 4K walls) over 16 px.
      scale: function () {
        const px = parseFloat(window.getComputedStyle(document.documentElement).fontSize) || 16;
        return Math.round((px / 16) * 100) / 100;
      },
      // The banner's data changed: remember the tone; a new, louder tone sounds at once.
      banner: function (data) {
        var tone = data && (data.tone === "urgent" || data.tone === "high") ? data.tone : null;
        if (tone && tone !== s.tone) {
          s.last = 0;
        }
        s.tone = tone;
        render();
        tick();
        return window.dash_clientside.no_update;
      },
    },
  });
})();
