/* When the session ends under an open page (logout in another tab, expiry, a disabled user), the server
 * answers the page's requests with 401: go to the login page, and come back to this page after login.
 * A page that is already leaving (its own logout form posted, a link followed) is not sent anywhere: the
 * logout's "You have logged out" must not be replaced by "session ended" when a poll returns 401 after
 * the logout took the session away. */
(function () {
  "use strict";
  if (!window.fetch) {
    return;
  }
  var original = window.fetch.bind(window);
  var leaving = false;
  var loggingOut = false;

  window.addEventListener("pagehide", function () {
    leaving = true;
  });
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted) {
      leaving = loggingOut; // back from the browser's page cache
    }
  });
  window.addEventListener("beforeunload", function () {
    // a download link fires this too and the page stays: then 401s count again after a moment
    leaving = true;
    window.setTimeout(function () {
      leaving = loggingOut;
    }, 5000);
  });
  document.addEventListener(
    "submit",
    function (ev) {
      var form = ev.target;
      var action = form && form.getAttribute ? form.getAttribute("action") || "" : "";
      if (action === "/logout" || action.slice(-7) === "/logout") {
        loggingOut = true;
        leaving = true;
      }
    },
    true
  );

  function sameOrigin(input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    return url.charAt(0) === "/" || url.indexOf(window.location.origin + "/") === 0;
  }

  window.fetch = function (input, init) {
    return original(input, init).then(function (resp) {
      if (resp.status === 401 && !leaving && sameOrigin(input)) {
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?expired=1&next=" + encodeURIComponent(here));
      }
      return resp;
    });
  };
})();
