/* Clientside callbacks of the shell: the plant clock and the language switch. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  sw: {
    clock: function (n, config) {
      const tz = (config && config.tz) || undefined;
      try {
        return new Date().toLocaleString("sv-SE", { timeZone: tz, hour12: false });
      } catch (e) {
        return new Date().toISOString().replace("T", " ").slice(0, 19);
      }
    },
    toggleLang: function (n, config) {
      if (!n) {
        return window.dash_clientside.no_update;
      }
      const next = config && config.lang === "zh" ? "en" : "zh";
      document.cookie = "sw_lang=" + next + "; path=/; max-age=31536000; samesite=lax";
      window.location.reload();
      return next;
    },
  },
});
