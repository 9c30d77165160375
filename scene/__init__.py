"""The 3D plant scene: trimesh equipment meshes, static and live layer data for deck.gl, colour scales.

No Dash here: functions return plain JSON-able data (and a binary mesh bundle) that ``webapp/pages/scene.py``
puts on the page and ``assets/30_scene.js`` turns into deck.gl layers.
"""
