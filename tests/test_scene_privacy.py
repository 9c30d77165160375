"""Executives see where people are, never who they are: the HTTP answers of the overview (``/``, with its
compact 3D view), the 3D scene (``/scene``) and their callbacks carry no badge name or team for them, and
do for dispatchers.

The real app is served on a port and asked over HTTP with a real login session per role; the plant is the
mini plant with distinctive badge names and teams, every badge on site, and an alarm about a person whose
message names them.
"""

from __future__ import annotations

import html
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import dash
import pytest
import yaml

from engine.types import GOOD, PositionIn
from settings import Settings
from store.db import make_engine, session_scope
from store.models import Alarm
from store.positions import write_positions
from tests.webutil import MINI_PLANT, router_body, seed_store, serve_app, session_token

ROLES = ("executive", "dispatcher")
CALLBACK_RULE = "/_dash-update-component"
# Callbacks of the two pages and of the shell around them (banner, clock, health).
MODULES = ("webapp.pages.scene", "webapp.pages.overview", "webapp.shell.banner_callbacks", "webapp.shell.callbacks")


def _name(badge_id: str) -> str:
    return f"Qzvorak {badge_id} Plimsoll"


def _name_zh(badge_id: str) -> str:
    return f"邝{badge_id}翥"


def _team(badge_id: str) -> str:
    return f"crew-qzv-{badge_id.lower()}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("privacy")
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    for b in data["badges"]:
        b["name"], b["name_zh"], b["team"] = _name(b["id"]), _name_zh(b["id"]), _team(b["id"])
    plant_file = tmp / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = seed_store(tmp, plant_file)
    from plant import load_plant

    plant = load_plant(plant_file)
    zones = {z.id: z for z in plant.zones}
    now = int(time.time() * 1000)
    positions = []
    for b in plant.badges:
        poly = zones[b.work_zones[0]].polygon
        cx, cy = sum(p[0] for p in poly) / len(poly), sum(p[1] for p in poly) / len(poly)
        positions.append(PositionIn(b.id, now - 1500, cx, cy, 0, GOOD))
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, positions)
        session.add(
            Alarm(
                id="violation:1",
                source_type="personnel",
                condition="sos",
                source="P001",
                badge="P001",
                priority="urgent",
                area="smelting",
                zone="smelter-hall",
                active=True,
                acked=False,
                suppressed=False,
                out_of_service=False,
                activated_at=now - 1000,
                message=f"{_name('P001')} (P001) pressed SOS in Smelter hall",
                updated_at=now - 1000,
            )
        )
    engine.dispose()
    secrets = {
        "names": [_name(b.id) for b in plant.badges],
        "hidden": [s for b in plant.badges for s in (_name(b.id), _name_zh(b.id), _team(b.id))],
        "person_zone": zones[plant.badges[0].work_zones[0]].id,
    }
    with serve_app(settings, role=None) as base:
        yield base, settings, secrets


def _request(base: str, token: str, path: str, body: dict[str, Any] | None = None, lang: str = "en") -> str:
    from webapp.context import LANG_COOKIE
    from webapp.gate import SESSION_COOKIE

    headers = {"Cookie": f"{SESSION_COOKIE}={token}; {LANG_COOKIE}={lang}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    assert status in (200, 204), f"{path} {json.dumps(body)[:200] if body else ''}: {status} {raw[:300]!r}"
    text = raw.decode("utf-8")
    try:  # JSON answers escape non-ASCII text: compare the decoded text
        return json.dumps(json.loads(text), ensure_ascii=False) if text else ""
    except ValueError:
        return html.unescape(text)


def _concrete(cid: str) -> Any:
    """A pattern-matching id made concrete (the shell's banner, ``aio_id`` "shell"); ALL matches nothing."""
    if not cid.startswith("{"):
        return cid
    spec = json.loads(cid)
    if any(v == ["ALL"] for v in spec.values()):
        return None
    return {k: ("shell" if isinstance(v, list) else v) for k, v in spec.items()}


def _entry(dep: dict[str, Any], value: Any = None) -> Any:
    cid = _concrete(dep["id"])
    return [] if cid is None else {"id": cid, "property": dep["property"], "value": value}


def _body(key: str, spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    outs = []
    for part in key[2:-2].split("...") if key.startswith("..") else [key]:
        cid_text, prop = part.rsplit(".", 1)
        cid = _concrete(cid_text)
        outs.append([] if cid is None else {"id": cid, "property": prop.split("@", 1)[0]})
    ins = [_entry(d, values.get(f"{d['id']}.{d['property']}", 1)) for d in spec["inputs"]]
    return {
        "output": key,
        "outputs": outs if key.startswith("..") else outs[0],
        "inputs": ins,
        "state": [_entry(d, values.get(f"{d['id']}.{d['property']}")) for d in spec["state"]],
        "changedPropIds": [f"{d['id']}.{d['property']}" for d in spec["inputs"][:1]],
    }


def _answers(base: str, settings: Settings, role: str, person_zone: str, lang: str = "en") -> dict[str, str]:
    """Every answer the two pages get: the pages, their layouts, every callback of theirs and of the shell,
    the side panel opened on a badge and on a zone with people in it."""
    token = session_token(settings, role)
    out = {
        "GET /": _request(base, token, "/", lang=lang),
        "GET /scene": _request(base, token, "/scene", lang=lang),
        "GET /_dash-layout": _request(base, token, "/_dash-layout", lang=lang),
    }
    for path in ("/", "/scene"):
        out[f"router {path}"] = _request(base, token, CALLBACK_RULE, router_body(path), lang)
    deps = json.loads(_request(base, token, "/_dash-dependencies", lang=lang))
    modules = _callback_modules()
    selections = [{"type": "badge", "id": "P001"}, {"type": "badge", "id": "V01"}, {"type": "zone", "id": person_zone}]
    for dep in deps:
        key = dep["output"]
        if dep.get("clientside_function") or modules.get(key) not in MODULES:
            continue
        spec = {"inputs": dep["inputs"], "state": dep["state"]}
        if any(d["id"] == "scene-selected" for d in dep["inputs"] + dep["state"]):
            for sel in selections:
                values = {"scene-selected.data": sel, "scene-panel.is_open": True}
                out[f"{key} {sel}"] = _request(base, token, CALLBACK_RULE, _body(key, spec, values), lang)
        else:
            out[key] = _request(base, token, CALLBACK_RULE, _body(key, spec, {}), lang)
    return out


def _callback_modules() -> dict[str, str]:
    """Callback output key -> module of its server function, from the app that serve_app made."""
    app = dash.get_app()
    return {k: v["callback"].__module__ for k, v in app.callback_map.items() if "callback" in v}


def test_executive_gets_positions_without_names(served: tuple[str, Settings, dict[str, Any]]) -> None:
    base, settings, secrets = served
    for lang in ("en", "zh"):
        answers = _answers(base, settings, "executive", secrets["person_zone"], lang)
        # the callbacks asked for are there: the scene's live data, its panel and the overview's compact view
        keys = " ".join(answers)
        assert "scene-live.data" in keys and "scene-panel-body.children" in keys and "AlarmBanner" in keys
        assert any("overview" in k and "live" in k for k in answers), sorted(answers)
        for what, text in answers.items():
            for secret in secrets["hidden"]:
                assert secret not in text, f"{what} ({lang}) shows {secret!r} to an executive"
        # positions are there: badges drawn on the scene, and the panel says what the badge is
        scene = answers["router /scene"]
        assert '"badges"' in scene and '"P001"' in scene
        panel = next(v for k, v in answers.items() if "scene-panel.is_open" in k and "'P001'" in k)
        assert ("Employee" if lang == "en" else "员工") in panel
        live = next(v for k, v in answers.items() if k.startswith("scene-live.data"))
        assert len(json.loads(live)["response"]["scene-live"]["data"]["b"]) == len(secrets["names"])


def test_dispatcher_gets_the_names(served: tuple[str, Settings, dict[str, Any]]) -> None:
    base, settings, secrets = served
    answers = _answers(base, settings, "dispatcher", secrets["person_zone"])
    scene = answers["router /scene"]
    overview = answers["router /"]
    for name in secrets["names"]:
        assert name in scene and name in overview, name
    panel = next(v for k, v in answers.items() if "scene-panel.is_open" in k and "'P001'" in k)
    assert _name("P001") in panel and _team("P001") in panel
    zone = next(v for k, v in answers.items() if "scene-panel.is_open" in k and "'zone'" in k)
    assert _name("P001") in zone
    banner = next(v for k, v in answers.items() if "AlarmBanner" in k)
    assert _name("P001") in banner


def test_static_spec_is_cached_per_name_level() -> None:
    from webapp.live.scene import static_spec

    named = static_spec(str(MINI_PLANT), "en", "d", "s", True)
    anonymous = static_spec(str(MINI_PLANT), "en", "d", "s", False)
    assert named is static_spec(str(MINI_PLANT), "en", "d", "s", True)
    assert [b["n"] for b in named["badges"]][:2] == ["Zhang Wei", "Li Na"]
    assert all(b["n"] == "" for b in anonymous["badges"])
    assert [(b["id"], b["r"], b["v"]) for b in anonymous["badges"]] == [
        (b["id"], b["r"], b["v"]) for b in named["badges"]
    ]
