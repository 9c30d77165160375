/* Kiosk mode for unattended wall screens, and the server watchdog.
 *
 * ?kiosk=1                 no navigation chrome (elements with class sw-kiosk-hide), a slim status strip
 * &pages=/,/scene          pages to rotate through (default: the navbar's pages)
 * &every=30                seconds per page (at least 3)
 * &lang=zh                 language of the screen (sets the language cookie once)
 *
 * Pages change like a dcc.Link does (history.pushState + Dash's location event), keeping the query
 * string, so the kiosk settings survive every rotation and every reload.
 *
 * Emergency (every page): /api/emergency is polled every 2 s; while an emergency runs a kiosk screen switches
 * to /emergency and stays there (no rotation), another screen shows the red strip #shell-emergency linking to
 * it; when it ends, rotation resumes.
 *
 * Watchdog (every page): /api/health is polled; after two failed polls the offline banner (#shell-offline)
 * shows and rotation pauses; when the server answers again a kiosk screen reloads itself (new server, new
 * code), an interactive one just hides the banner.
 */
(function () {
  "use strict";
  var POLL_MS = 3000;
  var EMERGENCY_MS = 2000;
  var emergency = null;
  var FAILS_OFFLINE = 2;
  var params = new URLSearchParams(window.location.search);
  var kiosk = params.get("kiosk") === "1" || params.get("kiosk") === "true";
  var root = document.documentElement;

  var lang = params.get("lang");
  if (lang === "en" || lang === "zh") {
    var have = document.cookie.match(/(?:^|; )sw_lang=([^;]*)/);
    if (!have || have[1] !== lang) {
      document.cookie = "sw_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
      window.location.reload();
      return;
    }
  }
  if (kiosk) {
    root.classList.add("sw-kiosk");
  }

  var every = Math.max(3, parseFloat(params.get("every")) || 30) * 1000;
  var shownAt = Date.now();
  var offline = false;
  var fails = 0;

  function norm(path) {
    return path.length > 1 ? path.replace(/\/+$/, "") : path;
  }

  function pages() {
    var given = (params.get("pages") || "")
      .split(",")
      .map(function (p) { return p.trim(); })
      .filter(function (p) { return p.charAt(0) === "/"; });
    if (given.length) {
      return given;
    }
    var links = document.querySelectorAll("#shell-nav a[href]");
    return Array.prototype.map.call(links, function (a) { return a.getAttribute("href"); });
  }

  function rotate() {
    if (!kiosk || offline || emergency || Date.now() - shownAt < every) {
      return;
    }
    shownAt = Date.now();
    var list = pages();
    if (!list.length) {
      return;
    }
    var at = list.map(norm).indexOf(norm(window.location.pathname));
    var next = list[(at + 1) % list.length];
    if (norm(next) === norm(window.location.pathname)) {
      return;
    }
    window.history.pushState({}, "", next + window.location.search);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }

  function setOffline(on) {
    offline = on;
    root.classList.toggle("sw-is-offline", on);
  }

  function poll() {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, POLL_MS);
    fetch("/api/health", { cache: "no-store", signal: ctl.signal })
      .then(function (r) { return r.ok; }, function () { return false; })
      .then(function (ok) {
        clearTimeout(timer);
        if (ok) {
          fails = 0;
          if (offline && kiosk) {
            var banner = document.getElementById("shell-offline");
            if (banner && banner.dataset.back) {
              banner.textContent = banner.dataset.back;
            }
            setTimeout(function () { window.location.reload(); }, 500);
            return;
          }
          if (offline) {
            setOffline(false);
          }
        } else if (++fails >= FAILS_OFFLINE && !offline) {
          setOffline(true);
        }
        setTimeout(poll, POLL_MS);
      });
  }

  function go(path) {
    window.history.pushState({}, "", path + window.location.search);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }

  function pollEmergency() {
    fetch("/api/emergency", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; }, function () { return null; })
      .then(function (body) {
        var was = emergency;
        emergency = body && body.active ? body.active : null;
        root.classList.toggle("sw-emergency-on", !!emergency);
        root.classList.toggle("sw-on-emergency-page", norm(window.location.pathname) === "/emergency");
        if (emergency && kiosk && norm(window.location.pathname) !== "/emergency") {
          go("/emergency");
        }
        if (was && !emergency) {
          shownAt = Date.now();
        }
        setTimeout(pollEmergency, EMERGENCY_MS);
      });
  }

  setInterval(rotate, 1000);
  setTimeout(pollEmergency, 200);
  setTimeout(poll, POLL_MS);
})();
