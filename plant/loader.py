"""Load and validate a plant file; a broken file fails with the file, the entry and the problem named."""

from __future__ import annotations

import difflib
import json
import logging
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from plant.schema import Plant, PlantReferenceError

logger = logging.getLogger(__name__)

DEMO_PLANT = Path(__file__).with_name("demo_smelter.yaml")


def default_plant_path() -> Path:
    return DEMO_PLANT


# A configuration file's error class: (path, ["entry: problem", ...]) -> the exception to raise.
Fail = Callable[[Path, list[str]], Exception]


class PlantFileError(ValueError):
    """A plant file that cannot be used. ``problems`` lists 'entry: problem' lines."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = problems[:20]
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"plant file {path}: {len(problems)} problem(s)\n  " + "\n  ".join(shown) + more)


if TYPE_CHECKING:  # both share SafeConstructor, whose construct_mapping is overridden below
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_BaseLoader):
    """Safe loader that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key!r} twice (first at line {seen[key].start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """'not valid YAML at line 3, column 7: mapping values are not allowed here' from a PyYAML error."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = f"{exc.problem} ({exc.context})" if exc.context else str(exc.problem)
        return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"
    return f"not valid YAML: {exc}"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The schema model whose mapping sits at ``loc`` (None when the path leaves the schema)."""
    model: type[BaseModel] = Plant
    annotation: Any = None
    for key in loc:
        if annotation is None:
            if not isinstance(key, str) or key not in model.model_fields:
                return None
            annotation = model.model_fields[key].annotation
        else:
            annotation = _item_type(annotation)
            if annotation is None:
                return None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model, annotation = annotation, None
    return model if annotation is None else None


def _item_type(annotation: Any) -> Any:
    """list[X] -> X, dict[str, X] -> X, X | None -> X (one level)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _item_type(args[0])
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc[:-1])
    key = loc[-1]
    if model is None or not isinstance(key, str):
        return "unknown key (not part of the plant schema)"
    fields = list(model.model_fields)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; expected one of: {', '.join(fields)}"


def _entry(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'zones[3] (acid-tank-farm).polygon' from a pydantic location, naming the entry by its id."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            try:
                node = node[key]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f" ({node['id']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _problems(raw: Any, exc: ValidationError, source: PlantSource | None = None) -> list[str]:
    out: list[str] = []

    def at(loc: tuple[int | str, ...]) -> str:
        """The entry, and with includes or a long file the file and line it was written on."""
        text = _entry(raw, loc)
        if source is not None and len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            where = source.where(loc[0], loc[1])
            if where:
                text += f" [{where}]"
        return text

    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, PlantReferenceError):
            for coll, index, field_name, message in cause.items:
                # a collection below the top level is named by its dotted path ("energy.intensities")
                out.append(f"{at((*err['loc'], *coll.split('.'), index, field_name))}: {message}")
            continue
        loc = tuple(k for k in err["loc"] if not (isinstance(k, str) and k.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = _unknown_key(loc)
        elif err["type"] == "missing":
            msg = "missing field (required)"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error") and _short(err["input"]):
            msg = f"{msg} (got {_short(err['input'])})"
        out.append(f"{at(loc)}: {msg}")
    return out


def _short(value: Any) -> str:
    """A short rendering of an offending scalar value for messages; containers are not repeated."""
    if isinstance(value, dict | list | tuple):
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_mapping(text: str, path: Path, fail: Fail, sections: str) -> dict[str, Any]:
    """The YAML mapping in ``text`` (duplicate keys refused), or ``fail(path, [problem])`` raised."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a safe loader (CSafeLoader/SafeLoader)
    except yaml.YAMLError as exc:
        raise fail(path, [_yaml_problem(exc)]) from exc
    if not isinstance(raw, dict):
        raise fail(path, [f"(top level): must be a mapping of sections ({sections}, ...)"])
    return raw


def read_text(path: Path, fail: Fail, what: str) -> str:
    """The UTF-8 text of a configuration file (BOM allowed), or ``fail(path, [problem])`` raised."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise fail(path, ["file not found"]) from exc
    except IsADirectoryError as exc:
        raise fail(path, [f"is a directory, not {what}"]) from exc
    except UnicodeDecodeError as exc:
        raise fail(path, [f"not UTF-8 text: {exc}"]) from exc


MAX_INCLUDE_DEPTH = 8


def list_sections() -> tuple[str, ...]:
    """The plant's sections that are lists of entries: the ones an included file may add to."""
    return tuple(name for name, f in Plant.model_fields.items() if typing.get_origin(f.annotation) is list)


@dataclass
class _Origin:
    """Where an entry of a list section was written: the file and its position in that file's list."""

    path: Path
    index: int


@dataclass
class PlantSource:
    """The plant's raw mapping with every included file merged in, and where each entry came from."""

    raw: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    origins: dict[str, list[_Origin]] = field(default_factory=dict)
    _lines: dict[tuple[Path, str], dict[int, int]] = field(default_factory=dict)

    def where(self, section: str, index: int) -> str:
        """'tags-dcs.yaml line 57' for an entry (the line its mapping starts on), '' when unknown."""
        origins = self.origins.get(section)
        if origins is None or not 0 <= index < len(origins):
            return ""
        origin = origins[index]
        key = (origin.path, section)
        if key not in self._lines:
            self._lines[key] = _entry_lines(origin.path, section)
        line = self._lines[key].get(origin.index)
        shown = origin.path.name if origin.path == self.files[0] else _shown(origin.path, self.files[0])
        return f"{shown} line {line}" if line else shown


def _shown(path: Path, main: Path) -> str:
    try:
        return str(path.relative_to(main.parent))
    except ValueError:
        return str(path)


def _entry_lines(path: Path, section: str) -> dict[int, int]:
    """Line numbers of the entries of one list section of a YAML file (only read when there are problems)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=_BaseLoader)
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == section and isinstance(value, yaml.SequenceNode):
            return {i: item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return {}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"found the key {key!r} twice in one object")
        out[key] = value
    return out


def read_json_mapping(text: str, path: Path) -> dict[str, Any]:
    """An included ``.json`` file: JSON is YAML too, and for machine-written lists of thousands of entries
    (an import from a server, a badge register) it reads about fifty times faster than YAML."""
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise PlantFileError(path, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from exc
    except ValueError as exc:
        raise PlantFileError(path, [f"not valid JSON: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise PlantFileError(path, ["(top level): must be an object of sections (tags, badges, ...)"])
    return raw


def read_plant_source(text: str, path: Path) -> PlantSource:
    """The plant file's mapping with its ``include:`` files merged in (nested includes, cycles refused).

    ``include`` is a list of paths relative to the file that names them (YAML, or ``.json`` for long
    machine-written lists: JSON reads about fifty times faster). An included file holds list
    sections only (tags, badges, cameras, zones, ...); their entries are appended to the main file's, in
    order. ``site`` and ``schema_version`` belong to the main file.
    """
    raw = read_mapping(text, path, PlantFileError, "site, zones, tags")
    sections = list_sections()
    source = PlantSource(raw, [path.resolve()])
    for name in sections:
        if isinstance(raw.get(name), list):
            source.origins[name] = [_Origin(path.resolve(), i) for i in range(len(raw[name]))]
    problems: list[str] = []
    _merge_includes(source, raw.pop("include", None), path, [path.resolve()], sections, problems)
    if problems:
        raise PlantFileError(path, problems)
    return source


def _merge_includes(
    source: PlantSource, includes: Any, path: Path, stack: list[Path], sections: tuple[str, ...], problems: list[str]
) -> None:
    if includes is None:
        return
    name = _shown(path, source.files[0]) if path.resolve() != source.files[0] else path.name
    if not isinstance(includes, list) or not all(isinstance(i, str) and i.strip() for i in includes):
        problems.append(f"{name}: include: must be a list of file paths")
        return
    for entry in includes:
        target = (path.parent / entry).resolve()
        if target in stack:
            problems.append(f"{name}: include: {entry} includes itself (through {' -> '.join(p.name for p in stack)})")
            continue
        if len(stack) >= MAX_INCLUDE_DEPTH:
            problems.append(f"{name}: include: {entry}: includes nested more than {MAX_INCLUDE_DEPTH} deep")
            continue
        try:
            text = read_text(target, PlantFileError, "a plant file")
            if target.suffix.lower() == ".json":
                sub = read_json_mapping(text, target)
            else:
                sub = read_mapping(text, target, PlantFileError, "tags, ...")
        except PlantFileError as error:
            problems.extend(f"{name}: include: {entry}: {p}" for p in error.problems)
            continue
        source.files.append(target)
        shown = _shown(target, source.files[0])
        for key, value in sub.items():
            if key == "include":
                continue
            if key not in sections:
                allowed = ", ".join(sections)
                problems.append(f"{shown}: {key}: an included file holds list sections only ({allowed})")
                continue
            if not isinstance(value, list):
                problems.append(f"{shown}: {key}: must be a list of entries")
                continue
            merged = source.raw.setdefault(key, [])
            if not isinstance(merged, list):
                continue  # the main file's own problem, reported by validation
            merged.extend(value)
            source.origins.setdefault(key, []).extend(_Origin(target, i) for i in range(len(value)))
        _merge_includes(source, sub.get("include"), target, [*stack, target], sections, problems)


def parse_plant(text: str, path: Path) -> Plant:
    return parse_plant_source(text, path)[0]


def parse_plant_source(text: str, path: Path) -> tuple[Plant, PlantSource]:
    """The validated plant and its source (the files read), or PlantFileError with every problem located."""
    source = read_plant_source(text, path)
    try:
        return Plant.model_validate(source.raw), source
    except ValidationError as exc:
        raise PlantFileError(path, _problems(source.raw, exc, source)) from exc


def load_plant(path: str | Path | None = None) -> Plant:
    """Read, parse and validate a plant file (the demo smelter by default)."""
    p = Path(path) if path is not None else DEMO_PLANT
    plant = parse_plant(read_text(p, PlantFileError, "a plant file"), p)
    logger.info("plant %s: %d zones, %d tags, %d badges", p.name, len(plant.zones), len(plant.tags), len(plant.badges))
    return plant


@lru_cache(maxsize=4)
def load_plant_cached(path: str) -> Plant:
    return load_plant(path)
