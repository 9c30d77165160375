"""Import tags from an OPC UA server: browse, read what the server says about each variable, write tag entries.

    python -m collectors import-tags ENDPOINT --out tags-dcs.json [--start NODE] [--filter REGEX]
        [--depth N] [--mapping map.csv]

What is read (read-only: Browse and Read services only): every variable under the start node (default the
Objects folder) to ``depth`` levels, its browse name, data type, value rank, description, and its
``EngineeringUnits`` (EUInformation) and ``EURange`` (Range) properties when it has them.

What is written: one plant-file tag entry per variable, ``id`` from the browse name, ``node_id`` by namespace
URI (``nsu=<uri>;s=...``, so a renumbered namespace does not matter), ``unit``, ``range``, ``description``
and a ``kind`` guessed from the data type, the name and the unit. A guess is marked ``review: ...`` so that
an engineer checks it; :func:`guess_kind` says how. A mapping file (CSV with the header
``pattern,equipment,zone``; ``pattern`` is a regular expression on the browse path, first match wins) places
the tags on equipment and zones.

Re-running it on the same output file keeps every entry there as it is (an engineer's edits survive), adds
the variables that are new, and reports the entries whose variable the server no longer has (they are not
deleted: that is the engineer's call).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from asyncua import Client, ua

from plant.schema import Medium, TagKind

BATCH = 500
COUNTER_WORDS = ("FED", "PRODUCED", "CAST", "TREATED", "TOTAL", "COUNT", "CATHODE", "COPPER")  # totals in t
_ID_CLEAN = re.compile(r"[^A-Za-z0-9_.\-]")

# unit -> (kind, medium) for cumulative meters and analysers; anything else numeric is a process value
_UNIT_KINDS: dict[str, tuple[TagKind, Medium | None]] = {
    "kwh": (TagKind.ENERGY, Medium.ELECTRICITY),
    "mwh": (TagKind.ENERGY, Medium.ELECTRICITY),
    "m3": (TagKind.ENERGY, Medium.WATER),
    "ppm": (TagKind.GAS, None),
    "%lel": (TagKind.GAS, None),
    "mg/m3": (TagKind.EMISSION, None),  # a stack's CEMS analyser
    "mg/l": (TagKind.EMISSION, None),  # an outfall's online water-quality analyser
}
_MEDIUM_WORDS = (
    ("O2", Medium.OXYGEN),
    ("OXY", Medium.OXYGEN),
    ("NG", Medium.NATURAL_GAS),
    ("GAS", Medium.NATURAL_GAS),
    ("AIR", Medium.COMPRESSED_AIR),
    ("STEAM", Medium.STEAM),
    ("STM", Medium.STEAM),
)


@dataclass
class Variable:
    """What the server says about one variable."""

    node_id: ua.NodeId
    browse_name: str
    path: str  # browse names from the start node, joined with '/'
    namespace_uri: str
    data_type: str = ""
    value_rank: int = -1
    description: str = ""
    unit: str = ""
    eu_range: tuple[float, float] | None = None


@dataclass
class Mapping:
    """``pattern,equipment,zone`` rows: the first whose pattern matches a variable's browse path places it."""

    rows: list[tuple[re.Pattern[str], str | None, str | None]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Mapping:
        rows = []
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = {"pattern"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{path}: line 1: the header needs a 'pattern' column (and equipment, zone)")
            for line, row in enumerate(reader, start=2):
                text = (row.get("pattern") or "").strip()
                if not text:
                    raise ValueError(f"{path}: line {line}: empty pattern")
                try:
                    pattern = re.compile(text)
                except re.error as error:
                    problem = f"pattern {text!r} is not a regular expression: {error}"
                    raise ValueError(f"{path}: line {line}: {problem}") from None
                rows.append(
                    (pattern, (row.get("equipment") or "").strip() or None, (row.get("zone") or "").strip() or None)
                )
        return cls(rows)

    def place(self, path: str) -> tuple[str | None, str | None]:
        for pattern, equipment, zone in self.rows:
            if pattern.search(path):
                return equipment, zone
        return None, None


def guess_kind(v: Variable) -> tuple[TagKind, Medium | None, str | None]:
    """The kind (and medium for a meter) of a variable, and the badge for a badge's tags.

    Arrays of three numbers are badge positions, booleans named ``SOS`` are SOS buttons (badge: the name's
    middle part, ``RTLS.<badge>.POS``); integers named ``STATE`` are equipment states; a number in kWh,
    MWh or m3 is a meter, in Nm3 a meter whose medium the name tells (O2, AIR, NG, STEAM), in ppm or %LEL a
    gas detector, in mg/m3 a stack analyser; a total in t whose name says so is a production counter;
    anything else is a process value.
    """
    name = v.browse_name.upper()
    parts = v.browse_name.split(".")
    badge = parts[1] if len(parts) == 3 and parts[0].upper() == "RTLS" else None
    if v.value_rank >= 1:
        return TagKind.POSITION, None, badge or v.browse_name
    if v.data_type == "Boolean" and "SOS" in name:
        return TagKind.SOS, None, badge or v.browse_name
    if name.endswith("STATE") and v.data_type in {"Int16", "Int32", "Int64", "UInt16", "UInt32", "Byte"}:
        return TagKind.STATE, None, None
    unit = v.unit.strip().lower()
    if unit in _UNIT_KINDS:
        kind, medium = _UNIT_KINDS[unit]
        return kind, medium, None
    if unit == "nm3":
        words = [w for w in re.split(r"[^A-Z0-9]+", name) if w]
        medium = next(
            (m for word, m in _MEDIUM_WORDS for w in words if w == word or (len(word) > 2 and w.startswith(word))),
            Medium.COMPRESSED_AIR,
        )
        return TagKind.ENERGY, medium, None
    if unit == "t" and any(w in name for w in COUNTER_WORDS):
        return TagKind.COUNTER, None, None
    if unit == "t" and "STEAM" in name:
        return TagKind.ENERGY, Medium.STEAM, None
    return TagKind.PROCESS, None, None


def node_id_by_uri(v: Variable) -> str:
    text = v.node_id.to_string()
    if v.node_id.NamespaceIndex == 0:
        return text
    rest = text.split(";", 1)[1]
    return f"nsu={v.namespace_uri};{rest}"


def tag_id(v: Variable) -> str:
    text = _ID_CLEAN.sub("_", v.browse_name).lstrip("_.-") or "tag"
    return text[:64]


def entry(v: Variable, endpoint: str, mapping: Mapping) -> dict[str, Any]:
    """The plant-file tag entry for ``v`` (keys in the order an engineer reads them)."""
    kind, medium, badge = guess_kind(v)
    out: dict[str, Any] = {"id": tag_id(v), "node_id": node_id_by_uri(v), "endpoint": endpoint, "kind": kind.value}
    if medium is not None:
        out["medium"] = medium.value
    if badge is not None:
        out["badge"] = badge
    if v.description and v.description != v.browse_name:
        out["description"] = v.description[:200]
    if v.unit:
        out["unit"] = v.unit[:16]
    if v.eu_range is not None and v.eu_range[0] < v.eu_range[1]:
        out["range"] = [v.eu_range[0], v.eu_range[1]]
    if kind not in (TagKind.POSITION, TagKind.SOS):
        equipment, zone = mapping.place(v.path)
        if equipment:
            out["equipment"] = equipment
        if zone:
            out["zone"] = zone
    reason = f"kind guessed as {kind.value}" + (f" ({medium.value})" if medium else "")
    out["review"] = f"{reason} from data type {v.data_type or '?'}, name and unit {v.unit or '-'}: check it"
    return out


async def browse(
    client: Client,
    start: ua.NodeId,
    *,
    depth: int = 6,
    name_filter: re.Pattern[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Variable]:
    """Every variable under ``start`` (breadth first, one Browse call per level and batch)."""
    namespaces = await client.get_namespace_array()
    found: list[Variable] = []
    level: list[tuple[ua.NodeId, str]] = [(start, "")]
    seen: set[str] = {start.to_string()}
    visited = 0
    for _ in range(depth + 1):
        next_level: list[tuple[ua.NodeId, str]] = []
        for i in range(0, len(level), BATCH):
            part = level[i : i + BATCH]
            results = await _browse_batch(client, [n for n, _ in part], ua.ObjectIds.HierarchicalReferences)
            for (_node, path), result in zip(part, results, strict=True):
                for ref in result.References or []:
                    nid = ref.NodeId
                    key = nid.to_string()
                    if key in seen or nid.NamespaceIndex == 0:
                        continue
                    seen.add(key)
                    name = ref.BrowseName.Name or key
                    child_path = f"{path}/{name}" if path else name
                    if ref.NodeClass == ua.NodeClass.Variable:
                        if name_filter is None or name_filter.search(child_path):
                            uri = namespaces[nid.NamespaceIndex] if nid.NamespaceIndex < len(namespaces) else ""
                            found.append(
                                Variable(
                                    ua.NodeId(nid.Identifier, nid.NamespaceIndex, nid.NodeIdType), name, child_path, uri
                                )
                            )
                    elif ref.NodeClass == ua.NodeClass.Object:
                        next_level.append((ua.NodeId(nid.Identifier, nid.NamespaceIndex, nid.NodeIdType), child_path))
            visited += len(part)
            if progress:
                progress(visited, len(found))
        level = next_level
        if not level:
            break
    await _describe(client, found, progress)
    return found


async def _browse_batch(client: Client, nodes: list[ua.NodeId], reference: int) -> list[ua.BrowseResult]:
    params = ua.BrowseParameters()
    params.View = ua.ViewDescription()
    params.RequestedMaxReferencesPerNode = 0
    descs = []
    for node in nodes:
        d = ua.BrowseDescription()
        d.NodeId = node
        d.BrowseDirection = ua.BrowseDirection.Forward
        d.ReferenceTypeId = ua.NodeId(ua.Int32(reference))
        d.IncludeSubtypes = True
        d.NodeClassMask = int(ua.NodeClass.Object) | int(ua.NodeClass.Variable)
        d.ResultMask = ua.BrowseResultMask.All
        descs.append(d)
    params.NodesToBrowse = descs
    results = await client.uaclient.browse(params)
    out = list(results)
    # a server may page long answers: follow the continuation points
    for i, result in enumerate(out):
        point = result.ContinuationPoint
        while point:
            more = await client.uaclient.browse_next(ua.BrowseNextParameters(False, [point]))
            out[i].References.extend(more[0].References or [])
            point = more[0].ContinuationPoint
    return out


async def _describe(client: Client, found: list[Variable], progress: Callable[[int, int], None] | None) -> None:
    """Data type, value rank, description and the EngineeringUnits / EURange properties, in batches."""
    type_names: dict[str, str] = {}
    for i in range(0, len(found), BATCH):
        part = found[i : i + BATCH]
        ids = [v.node_id for v in part]
        types = await client.uaclient.read_attributes(ids, ua.AttributeIds.DataType)
        ranks = await client.uaclient.read_attributes(ids, ua.AttributeIds.ValueRank)
        descs = await client.uaclient.read_attributes(ids, ua.AttributeIds.Description)
        for v, t, r, d in zip(part, types, ranks, descs, strict=True):
            dtype = t.Value.Value if t.Value is not None else None
            if isinstance(dtype, ua.NodeId):
                key = dtype.to_string()
                if key not in type_names:
                    type_names[key] = _type_name(dtype)
                v.data_type = type_names[key]
            rank = r.Value.Value if r.Value is not None else None
            v.value_rank = int(rank) if isinstance(rank, int) else -1
            text = d.Value.Value if d.Value is not None else None
            v.description = text.Text or "" if isinstance(text, ua.LocalizedText) else ""
        props = await _browse_batch(client, ids, ua.ObjectIds.HasProperty)
        wanted: list[tuple[Variable, str, ua.NodeId]] = []
        for v, result in zip(part, props, strict=True):
            for ref in result.References or []:
                if ref.BrowseName.Name in ("EngineeringUnits", "EURange"):
                    nid = ref.NodeId
                    wanted.append(
                        (v, ref.BrowseName.Name, ua.NodeId(nid.Identifier, nid.NamespaceIndex, nid.NodeIdType))
                    )
        if wanted:
            values = await client.uaclient.read_attributes([w[2] for w in wanted], ua.AttributeIds.Value)
            for (v, what, _nid), dv in zip(wanted, values, strict=True):
                value = dv.Value.Value if dv.Value is not None else None
                if what == "EngineeringUnits" and isinstance(value, ua.EUInformation):
                    v.unit = (value.DisplayName.Text if value.DisplayName else "") or ""
                elif what == "EURange" and isinstance(value, ua.Range):
                    v.eu_range = (float(value.Low), float(value.High))
        if progress:
            progress(-(i + len(part)), len(found))


def _type_name(dtype: ua.NodeId) -> str:
    if dtype.NamespaceIndex == 0 and isinstance(dtype.Identifier, int):
        return ua.ObjectIdNames.get(dtype.Identifier, str(dtype.Identifier))
    return dtype.to_string()


@dataclass
class ImportResult:
    added: list[str]
    kept: int
    removed: list[str]  # entries in the file whose variable the server no longer has (left in place)
    total: int


def read_existing(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8-sig")
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("tags", []), list):
        raise ValueError(f"{path}: not a tags file (a mapping with a 'tags' list)")
    return list(data.get("tags") or [])


def merge(
    existing: list[dict[str, Any]], variables: Iterable[Variable], endpoint: str, mapping: Mapping
) -> tuple[list[dict[str, Any]], ImportResult]:
    """Existing entries untouched and in their order, new variables appended, vanished ones reported."""
    by_node = {str(e.get("node_id")): e for e in existing}
    ids = {str(e.get("id")) for e in existing}
    out = list(existing)
    added = []
    on_server: set[str] = set()
    for v in variables:
        e = entry(v, endpoint, mapping)
        on_server.add(e["node_id"])
        if e["node_id"] in by_node:
            continue
        base, n = e["id"], 2
        while e["id"] in ids:  # two variables with one browse name in different folders
            e["id"] = f"{base[:60]}.{n}"
            n += 1
        ids.add(e["id"])
        out.append(e)
        added.append(e["id"])
    removed = [
        str(e.get("id")) for e in existing if e.get("endpoint") == endpoint and str(e.get("node_id")) not in on_server
    ]
    return out, ImportResult(added, len(existing), removed, len(out))


def write(path: Path, tags: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    if path.suffix.lower() == ".json":
        tmp.write_text(json.dumps({"tags": tags}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        tmp.write_text(yaml.safe_dump({"tags": tags}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(path)  # a crash never leaves half a file
