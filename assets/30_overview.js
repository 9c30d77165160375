/* Overview: spread the server's delta (groups of numbers that changed) onto the page's components. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  swOverview: {
    // The compact 3D view: the scene's own renderer, only while its card is on screen (not on phones).
    scene: function (spec, live, layers) {
      const dc = window.dash_clientside;
      const el = spec && spec.ids ? document.getElementById(spec.ids.deck) : null;
      if (!el || el.offsetParent === null || !dc.swscene) {
        return dc.no_update;
      }
      return dc.swscene.render(spec, live, layers, null);
    },
    apply: function (delta, figures) {
      const dc = window.dash_clientside;
      const outs = dc.callback_context.outputs_list;
      if (!delta) {
        throw dc.PreventUpdate;
      }
      const pick = function (specs, values) {
        return specs.map(function (s) {
          return values && Object.prototype.hasOwnProperty.call(values, s.id.key) ? values[s.id.key] : dc.no_update;
        });
      };
      const sparks = outs[3].map(function (s, i) {
        const series = delta.spark && delta.spark[s.id.key];
        const fig = figures[i];
        if (!series || !fig) {
          return dc.no_update;
        }
        let lx = [], ly = [];
        for (let k = series.y.length - 1; k >= 0; k--) {
          if (series.y[k] !== null) { lx = [series.x[k]]; ly = [series.y[k]]; break; }
        }
        const data = fig.data.slice();
        data[0] = Object.assign({}, data[0], { x: series.x, y: series.y });
        data[1] = Object.assign({}, data[1], { x: lx, y: ly });
        return Object.assign({}, fig, { data: data });
      });
      return [pick(outs[0], delta.text), pick(outs[1], delta.status), pick(outs[2], delta.style), sparks];
    },
  },
});
