"""Import tags from an OPC UA server: the demo plant's simulator browsed back into plant-file tag entries.

The simulator publishes the demo plant file's tags (with EngineeringUnits and EURange on analog items);
browsing it must give back the plant file's tag ids and node ids (by namespace URI), units and ranges, and
with a mapping file the equipment; re-running keeps an engineer's edits and reports vanished variables.
The same import works against a server that requires security.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Client, ua

from collectors import tagimport
from collectors.security import Pki, create_certificate, secure_client
from plant.loader import load_plant, parse_plant
from plant.schema import Plant
from settings import ROOT
from simulator.model import variant_kind
from simulator.server import run_simulator
from tests.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

DEMO = ROOT / "plant" / "demo_smelter.yaml"


def _mapping(plant: Plant, path: Path) -> tagimport.Mapping:
    """One row per equipment: a tag whose name starts with the equipment's id belongs to it."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pattern", "equipment", "zone"])
        for eq in sorted(plant.equipment, key=lambda e: -len(e.id)):  # longest first: FF-10 before FF-1
            w.writerow([rf"/{re.escape(eq.id)}/", eq.id, ""])
    return tagimport.Mapping.read(path)


def _import(url: str, mapping: tagimport.Mapping, existing: list[dict[str, Any]]) -> Any:
    async def run() -> list[tagimport.Variable]:
        async with Client(url) as client:
            return await tagimport.browse(client, ua.NodeId(ua.ObjectIds.ObjectsFolder), depth=4)

    variables = asyncio.run(run())
    return variables, tagimport.merge(existing, variables, "dcs", mapping)


def test_import_from_the_simulator_gives_back_the_plant_files_tags(tmp_path: Path) -> None:
    plant = load_plant(DEMO)
    mapping = _mapping(plant, tmp_path / "map.csv")
    port = free_port()

    async def browse_demo() -> list[tagimport.Variable]:
        async with (
            run_simulator(plant, dcs_port=port, rtls_port=free_port(), rate_hz=0.2) as sim,
            Client(sim.url("dcs")) as client,
        ):
            return await tagimport.browse(client, ua.NodeId(ua.ObjectIds.ObjectsFolder), depth=4)

    variables = asyncio.run(browse_demo())
    tags, result = tagimport.merge([], variables, "dcs", mapping)
    demo = {t.id: t for t in plant.tags if t.endpoint == "dcs"}
    got = {t["id"]: t for t in tags}
    assert set(got) == set(demo), set(got) ^ set(demo)
    assert result.added and not result.removed and result.total == len(demo)
    for tid, t in demo.items():
        e = got[tid]
        assert e["node_id"] == t.node_id.replace("ns=2;", "nsu=urn:smeltwatch:demo;"), (e, t.node_id)
        if variant_kind(t) == "double":  # analog items carry EngineeringUnits and EURange
            assert e.get("unit", "") == t.unit, (tid, e.get("unit"), t.unit)
            assert (tuple(e["range"]) if "range" in e else None) == t.range, (tid, e.get("range"), t.range)
        if t.equipment is not None:
            assert e.get("equipment") == t.equipment, (tid, e.get("equipment"), t.equipment)
        assert e["review"].startswith("kind guessed as")
    same_kind = sum(got[i]["kind"] == t.kind.value for i, t in demo.items()) / len(demo)
    assert same_kind > 0.9, same_kind  # a guess, marked for review; most are right on the demo
    # the imported file is a valid include: the demo plant with its dcs tags replaced by the import's
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw["tags"] = [t for t in raw["tags"] if t["endpoint"] != "dcs"]
    raw["include"] = ["tags-dcs.json"]
    tagimport.write(tmp_path / "tags-dcs.json", tags)
    (tmp_path / "plant.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    imported = parse_plant((tmp_path / "plant.yaml").read_text(encoding="utf-8"), tmp_path / "plant.yaml")
    assert len(imported.tags) == len(plant.tags)  # meters name imported tags of the right kind and medium


def test_rerun_keeps_edits_adds_new_and_reports_removed(tmp_path: Path) -> None:
    plant = load_plant(ROOT / "tests" / "fixtures" / "mini_plant.yaml")
    mapping = tagimport.Mapping()
    out = tmp_path / "tags.yaml"

    async def browse() -> list[tagimport.Variable]:
        async with (
            run_simulator(plant, dcs_port=free_port(), rtls_port=free_port(), rate_hz=0.2) as sim,
            Client(sim.url("dcs")) as client,
        ):
            return await tagimport.browse(client, ua.NodeId(ua.ObjectIds.ObjectsFolder))

    variables = asyncio.run(browse())
    first, r1 = tagimport.merge([], variables, "dcs", mapping)
    assert len(r1.added) == sum(t.endpoint == "dcs" for t in plant.tags)
    # an engineer checks one entry: sets its kind, removes the review line; and one entry is for a variable
    # that the server no longer has
    first[0]["kind"] = "process"
    first[0]["description"] = "checked by the instrument engineer"
    first[0].pop("review")
    gone = {"id": "OLD.TAG", "node_id": "nsu=urn:smeltwatch:demo;s=OLD.TAG", "endpoint": "dcs", "kind": "process"}
    existing = [*first[:-1], gone]  # the last variable is "new" on this run
    tagimport.write(out, existing)
    again, r2 = tagimport.merge(tagimport.read_existing(out), variables, "dcs", mapping)
    assert again[: len(existing)] == existing  # untouched, in order
    assert r2.added == [first[-1]["id"]] and r2.removed == ["OLD.TAG"] and r2.kept == len(existing)


def test_import_command_against_a_secured_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_opcua_security import SECRET, _plant_dict, _secure_server, _security

    monkeypatch.setenv("SW_TEST_OPCUA_PASSWORD", SECRET)
    port = free_port()
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(_plant_dict(port, _security())), encoding="utf-8")
    plant = Plant.model_validate(_plant_dict(port, _security()))
    pki = Pki(tmp_path / "pki")
    out = tmp_path / "tags-dcs.json"

    async def main() -> subprocess.CompletedProcess[str]:
        server = await _secure_server(tmp_path, port)
        try:
            own = await create_certificate(plant.endpoints[0], pki, host="127.0.0.1")
            (tmp_path / "server-trusts" / "collector.der").write_bytes(own.read_bytes())
            pki.trust((tmp_path / "server.der").read_bytes())
            # in process: the same secure_client as the collectors
            client = Client(f"opc.tcp://127.0.0.1:{port}")
            await secure_client(client, plant.endpoints[0], pki, url=f"opc.tcp://127.0.0.1:{port}")
            async with client:
                found = await tagimport.browse(client, ua.NodeId(ua.ObjectIds.ObjectsFolder))
            assert [v.browse_name for v in found] == ["TI101"]
            cmd = [
                sys.executable,
                "-m",
                "collectors",
                "import-tags",
                "dcs",
                "--out",
                str(out),
                "--plant",
                str(plant_file),
            ]
            cmd += ["--pki-dir", str(pki.root)]
            return await asyncio.to_thread(subprocess.run, cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        finally:
            await server.stop()

    done = asyncio.run(main())
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout
    tags = json.loads(out.read_text(encoding="utf-8"))["tags"]
    assert tags[0]["id"] == "TI101" and tags[0]["node_id"] == "nsu=urn:smeltwatch:test:secure;s=TI101"
    assert SECRET not in done.stdout + done.stderr


def test_guess_kind_rules() -> None:
    def v(name: str, dtype: str = "Double", unit: str = "", rank: int = -1) -> tagimport.Variable:
        return tagimport.Variable(ua.NodeId(name, 2), name, name, "urn:x", dtype, rank, "", unit)

    assert tagimport.guess_kind(v("RTLS.P001.POS", rank=1))[::2] == ("position", "P001")
    assert tagimport.guess_kind(v("RTLS.P001.SOS", "Boolean"))[::2] == ("sos", "P001")
    assert tagimport.guess_kind(v("CV-1.STATE", "Int32"))[0] == "state"
    assert tagimport.guess_kind(v("X.EL_KWH", unit="kWh"))[:2] == ("energy", "electricity")
    assert tagimport.guess_kind(v("OX.O2_NM3", unit="Nm3"))[:2] == ("energy", "oxygen")
    assert tagimport.guess_kind(v("GD01.SO2", unit="ppm"))[0] == "gas"
    assert tagimport.guess_kind(v("FSF1.CONC_FED", unit="t"))[0] == "counter"
    assert tagimport.guess_kind(v("FF-1.TEMP", unit="degC"))[0] == "process"


def test_bad_mapping_files_are_named_with_their_line(tmp_path: Path) -> None:
    bad = tmp_path / "map.csv"
    bad.write_text("pattern,equipment,zone\n/FF-1/,FF-1,\n(unclosed,X,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"map.csv: line 3: pattern '\(unclosed' is not a regular expression"):
        tagimport.Mapping.read(bad)
    bad.write_text("equipment,zone\nFF-1,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: the header needs a 'pattern' column"):
        tagimport.Mapping.read(bad)
