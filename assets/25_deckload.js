/* Shared by the 3D scene (30_scene.js) and the personnel map (60_personnel.js): load the deck.gl bundle the
 * server ships (once per page, no internet) and the plant's equipment meshes (one binary file per plant,
 * parsed into typed arrays, which deck.gl's SimpleMeshLayer requires).
 */
(function () {
  "use strict";

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

  window.SWDeck = { loadDeck: loadDeck, loadMeshes: loadMeshes };
})();
