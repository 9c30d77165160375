/* When the session ends under an open page (logout in another tab, expiry, a disabled user), the server
 * answers the page's requests with 401: go to the login page, and come back to this page after login. */
(function () {
  "use strict";
  if (!window.fetch) {
    return;
  }
  var original = window.fetch.bind(window);
  var leaving = false;

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
